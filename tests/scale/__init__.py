"""Past one machine: the engines a deployment scales out with, started on loopback (docs/scaling.md)."""
