"""Payment-file adapters: the reference one writes ISO 20022 pain.001 files into an outbox folder."""
