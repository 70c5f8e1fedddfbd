"""Views of annotated records: the article view (a static site, ``article.py``) and the corpus report
(``corpus_report.py``). They read records (``records.py``) and never import Label Studio code or the model."""
