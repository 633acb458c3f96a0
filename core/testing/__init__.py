"""Test helpers shared by the suites of core and every case (toy adapters, a loopback OpenAI-compatible server)."""
