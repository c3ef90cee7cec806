"""How each chapter shows and checks its ideas: one module per chapter, ``chNN_<name>``.

A chapter module holds that chapter's figures (``plot_*`` draw on a given Axes and
return it; ``draw_*`` are widget frames that return a Figure, decorated with
``widgets.frame``), its experiments (loops over seeds or settings that produce the
numbers the notebook asserts) and its exercise checks (``check_*``, thin wrappers
over ``course_utils.checks``). It imports the algorithms from ``course_utils.scratch``
and the platform, never another chapter: a piece two chapters need moves down a tier.

Notebooks import their chapter module as ``ch``::

    from course_utils.chapters import ch01_learning_basics as ch
"""
