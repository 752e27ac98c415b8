"""The life-cycle stages, one pipeline each."""
