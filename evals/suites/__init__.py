"""One evaluation suite per module; the module's name is the suite's name and it defines `EVALUATOR`."""
