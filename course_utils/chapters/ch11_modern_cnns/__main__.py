"""``python -m course_utils.chapters.ch11_modern_cnns`` regenerates ``data/ch11_trunk.pt`` (about 15 s on one core).

Only when run: a tool that imports every module (the name check, documentation builders) must not rewrite the file.
"""
from . import TRUNK_FILE, write_pretrained_trunk

if __name__ == "__main__":
    digest = write_pretrained_trunk()
    print(f"wrote {TRUNK_FILE}\nSHA-256 {digest}\nput this value into TRUNK_SHA256 (and data/README.md)")
