"""The Label Studio loop: labeling config, conversions, a local server, push/pull, reports, an ML backend.

Modules are imported on demand; none of them imports the Label Studio SDK at import time except
``client`` (whose import is deferred to the first connection), so the CLI stays quick to start.
"""
