"""Engines for batch scoring: how documents reach the model and come back annotated. ``local``: one machine,
worker processes feeding the model in this one; ``ray``: Ray Data, on a local Ray instance or a cluster. Every
engine calls the same ``Annotator`` stages, so the records are the same whichever runs them."""
