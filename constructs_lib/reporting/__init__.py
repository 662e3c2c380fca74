"""What the app tells people about a synthesized stack (pure: no cdktf import): the snapshot of the
user's own stack and its readable diff."""
