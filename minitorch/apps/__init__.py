"""What a user runs: the ``minitorch`` command line, the training loop, the lecture's models
and the plots. The library (``minitorch``) never imports this package."""
