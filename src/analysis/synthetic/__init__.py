"""Synthetic data: the embedded monthly panel (:mod:`~analysis.synthetic.panel`) and dossier
records consistent with it (:mod:`~analysis.synthetic.dossiers`)."""
