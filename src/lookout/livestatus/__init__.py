"""Livestatus: the query protocol Thruk, NagVis and Checkmk's tools speak (issue 14).

``query`` parses a request into headers, ``filters`` and ``stats`` compile them against a
table's ``columns``, ``tables`` maps the engine's live state onto the Nagios tables and column
conventions, ``output`` renders the answer, ``commands`` turns ``COMMAND`` lines into
:class:`lookout.actions.Actions` calls, and ``server`` serves all of it on a Unix socket (and
optionally TCP) from the site's event loop.
"""
