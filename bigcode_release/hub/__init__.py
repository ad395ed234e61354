"""Publishing a release directory on the Hugging Face Hub: plan, push (gated, tagged, resumable),
write the repository trees offline, and manage access requests."""
