"""Self-service sign-up on the control plane (``lookout sites serve`` with ``[signup] enabled``):
an e-mail address, a 6-character code sent there, an account with a password, and a first site
made by the supervisor, into which the new admin is logged by a one-time link.

```
store.py     ROOT/signup.db (SQLite): accounts, codes (hashed, expiring, few tries), throttle
mail.py      the code mail (aiosmtplib)
flow.py      the rules: request a code, check it, make the account and the site
app.py       the pages (FastAPI + the site UI's styles), the same answer for every address
provider.py  the control plane as the OpenID provider of the sites it made (one log-in)
handover.py  the new site's admin, its one-time log-in link, its [oidc] pointing here
__main__.py  ``python -m lookout.manager.signup ROOT``: what ``sites serve`` starts
```
"""
