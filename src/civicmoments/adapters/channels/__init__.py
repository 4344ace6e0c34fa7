"""Channel providers: each sends messages on one channel and says what happened to each."""
