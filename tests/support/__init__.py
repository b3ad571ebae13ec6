"""Test harness: real loopback servers and helpers to run credproc as users do."""
