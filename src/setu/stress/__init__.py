"""The stress-test engine: TTR/TTS linear programs, scenarios, sweeps and explanations."""
