"""`python -m breeze_blue.testing`, plus one item the spec does not name: a 400 whose code
(`FUTURE_CODE`) is not in today's list, to show what each client does with an open-set
code the server adds later (the spec promises clients must survive it)."""

from __future__ import annotations

import contextlib
import sys

from breeze_blue.testing import TEST_API_KEY, ErrorReply, ReferenceServer

UNKNOWN_ITEM = "hist_future_code"
UNKNOWN_CODE = "FUTURE_CODE"

if __name__ == "__main__":
    server = ReferenceServer(host="127.0.0.1", port=0)
    server.add(UNKNOWN_ITEM, ErrorReply(400, UNKNOWN_CODE, "A code this spec does not name yet."))
    print(f"BREEZE_BASE_URL={server.url}", flush=True)
    print(f"BREEZE_API_KEY={TEST_API_KEY}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)
