"""google.auth.default(scopes=[cloud-platform]) then refresh() over requests; prints a JSON line."""

import datetime
import json

import google.auth
import google.auth.transport.requests

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]

creds, project = google.auth.default(scopes=SCOPES)
creds.refresh(google.auth.transport.requests.Request())

expiry = creds.expiry  # naive UTC datetime in google-auth
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
print(json.dumps({
    "credentials": f"{type(creds).__module__}.{type(creds).__qualname__}",
    "project": project,
    "token": creds.token,
    "valid": creds.valid,
    "expires_in_s": (expiry - now).total_seconds() if expiry else None,
    "service_account_email": getattr(creds, "service_account_email", None),
}))
