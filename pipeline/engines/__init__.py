"""Engines for batch scoring: ``ray`` runs ``framing annotate`` on Ray Data (a cluster, or a local instance)."""
