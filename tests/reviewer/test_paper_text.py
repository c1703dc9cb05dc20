import os

import pytest

from reviewer.paper_text import PaperInputError, load_paper_text


def test_real_pdf_becomes_text(shared_data):
    text = load_paper_text(shared_data / "ai_scientist_papers" / "rl_lr_adaptation.pdf")
    assert "LEARNING RATE" in text.upper() and len(text) > 10_000


def test_text_file(tmp_path):
    path = tmp_path / "paper.md"
    path.write_text("# Title\n\n" + "We study things. " * 50)
    assert load_paper_text(path).startswith("# Title")


def _file(name, data):
    def make(directory):
        path = directory / name
        (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
        return path

    return make


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.pdf", "no such file"),
    (lambda d: d, "is a directory"),
    (_file("empty.pdf", b""), "file is empty"),
    (_file("random.pdf", os.urandom(4096)), "not a PDF"),
    (_file("broken.pdf", b"%PDF-1.7\n" + os.urandom(2048)), "corrupt"),
    (_file("paper.docx", b"PK\x03\x04" * 100), "unsupported file type"),
    (_file("short.txt", "hi"), "characters of text"),
])
def test_bad_inputs_give_one_line_errors(tmp_path, make, message):
    with pytest.raises(PaperInputError, match=message) as info:
        load_paper_text(make(tmp_path))
    assert "\n" not in str(info.value)


def test_encrypted_pdf(tmp_path):
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret " * 100)
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")
    with pytest.raises(PaperInputError, match="encrypted"):
        load_paper_text(path)
