"""shopagent: finetune."""
