"""The engine: intake, dispatcher, effects and timers. It talks to the world through ports."""
