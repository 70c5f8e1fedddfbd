"""Engines for batch scoring: how documents reach the model and come back annotated. ``local``: one machine,
worker processes feeding the model in this one. Every engine calls the same ``Annotator`` stages, so the records
are the same whichever runs them."""
