"""Fine-tuning a released code model on the user's own repositories with PEFT (LoRA / QLoRA)."""
