"""Worker pools on NATS JetStream (issue 12): the site hands active checks to ``lookout worker``
processes on any machine and takes their results back.

Per site ``S`` (its ``site_name``), all in the site's NATS account:

- stream ``lookout_S_jobs`` (work queue) on ``lookout.S.jobs.<pool>``: one job per check run,
  taken by the durable pull consumer ``pool_<pool>`` that the pool's workers share;
- stream ``lookout_S_results`` (work queue) on ``lookout.S.results``: one result per job,
  published with ``Nats-Msg-Id`` = the job's id (JetStream drops a second copy), taken by the
  site's durable consumer ``site`` and acknowledged once the result is journaled;
- core subject ``lookout.S.workers.<pool>``: workers' heartbeats.

``wire`` holds the messages, ``streams`` the names and the stream and consumer settings,
``connection`` the connection, ``runner`` the site's side (``NatsRunner``), ``worker`` the
worker's side.
"""
