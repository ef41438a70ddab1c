"""The trial finder: which recruiting MS trials a person could join, criterion by criterion.

:mod:`~curemap.match.criteria` reads eligibility into criteria, :mod:`~curemap.match.person`
loads the person's profile, :mod:`~curemap.match.matcher` judges each criterion ``met``,
``not_met`` or ``unknown`` with its reason and ranks the trials with their nearest sites, and
:mod:`~curemap.match.evaluate` measures all of it against hand labels.
"""
