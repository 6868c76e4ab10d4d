"""Privacy: personal data masked in logs, transcripts and training exports; retention of conversations; one
customer's conversations exported or deleted on request."""

from agent.privacy.logs import MaskingFilter, install_log_masking
from agent.privacy.mask import mask_text, mask_value

__all__ = ["MaskingFilter", "install_log_masking", "mask_text", "mask_value"]
