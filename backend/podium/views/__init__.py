"""Pure functions: state → status bar and agent cards. No I/O."""
