"""``python -m course_utils.chapters.ch11_modern_cnns`` regenerates ``data/ch11_trunk.pt`` (about 15 s on one core)."""
from . import TRUNK_FILE, write_pretrained_trunk

digest = write_pretrained_trunk()
print(f"wrote {TRUNK_FILE}\nSHA-256 {digest}\nput this value into TRUNK_SHA256 (and data/README.md)")
