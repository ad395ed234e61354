"""Pretraining: FIM over packed samples, the torch engine (CPU, DDP over gloo), nanotron configs
and launch commands for GPUs, and ablations."""
