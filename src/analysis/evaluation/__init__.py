"""The evaluation service between the designs and the documents.

:mod:`~analysis.evaluation.fit` fits a measure on its province and on comparison provinces
(one estimate per measure, window and outcome, for every document); :mod:`~analysis.evaluation.effects`
is ``workbench effect``: any panel through the chosen designs to JSON.
"""
