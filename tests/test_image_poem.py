"""Image to poem: image intake (bad uploads refused with a clear reason, metadata stripped), the
classifier on real photos, the poem-form check, the VLM message, and the stage end to end on the
real vLLM engine (CPU) along the labels path."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from core.locale import Messages
from core.script import ShowScript
from engine_pool.base import GenerationRequest
from engine_pool.openai_engine import OpenAIEngine
from stages.image_features import colour_name, default_classifier, describe_image
from stages.image_intake import MAX_BYTES, intake_image, preview_data_uri
from stages.image_poem import render_prompt, sees_images, vlm_messages
from stages.poem_form import check_form, rhymes
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
SUNSET = REPO / "show_scripts/assets/sunset-sea.jpg"
CAT_LABELS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}


def encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width``×``height`` (the pixel data would never fit)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# -- intake ------------------------------------------------------------------------------------


def test_intake_refuses_what_is_not_an_image(tmp_path):
    with pytest.raises(ValueError, match=r"^image: not a PNG/JPEG/WebP/GIF file$"):
        intake_image(b"%PDF-1.7 definitely a document")
    fake = tmp_path / "holiday.png"  # the name says PNG; the content decides
    fake.write_text("<html>not a picture</html>")
    with pytest.raises(ValueError, match="not a PNG/JPEG/WebP/GIF file"):
        intake_image(fake)
    with pytest.raises(ValueError, match="image: the file is empty"):
        intake_image(b"")
    with pytest.raises(ValueError, match="image: cannot read"):
        intake_image(tmp_path / "missing.jpg")


def test_intake_refuses_too_many_bytes_before_decoding(tmp_path):
    big = b"\x89PNG\r\n\x1a\n" + bytes(MAX_BYTES)
    with pytest.raises(ValueError, match=r"image: 10\.0 MiB is over the 10\.0 MiB limit"):
        intake_image(big)
    path = tmp_path / "big.png"
    path.write_bytes(big)
    with pytest.raises(ValueError, match="over the 10.0 MiB limit"):
        intake_image(path)


def test_intake_refuses_oversized_dimensions():
    wide = encoded(Image.new("L", (9000, 12)), "PNG")
    with pytest.raises(ValueError, match=r"^image: 9000×12 is larger than 8000×8000$"):
        intake_image(wide)
    with pytest.raises(ValueError, match=r"image: 300×200 is larger than 256×256"):
        intake_image(encoded(Image.new("RGB", (300, 200)), "JPEG"), max_side=256)


@pytest.mark.parametrize("size", [(100_000, 100_000), (12_000, 9_000)])  # over Pillow's hard limit; over its warning limit
def test_intake_refuses_a_decompression_bomb(size):
    bomb = png_header_claiming(*size)
    assert len(bomb) < 200
    with pytest.raises(ValueError, match="decompression bomb"):
        intake_image(bomb)


def test_intake_refuses_a_truncated_file():
    whole = encoded(Image.effect_noise((200, 200), 60).convert("RGB"), "PNG")
    with pytest.raises(ValueError, match=r"image: (the PNG file is damaged or truncated|not a readable PNG file)"):
        intake_image(whole[: len(whole) // 2])


def test_intake_reencodes_a_jpeg_without_its_exif():
    photo = Image.new("RGB", (320, 200), (200, 90, 40))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"  # Make
    exif[0x0131] = "SecretSoftware 1.0"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    raw = encoded(photo, "JPEG", exif=exif.tobytes(), quality=95)
    assert b"SpyCam" in raw
    clean = intake_image(raw)
    assert (clean.format, clean.media_type, clean.source_format) == ("JPEG", "image/jpeg", "JPEG")
    assert (clean.width, clean.height) == (200, 320)  # stood upright before the EXIF went
    assert b"SpyCam" not in clean.data and b"SecretSoftware" not in clean.data and b"Exif" not in clean.data
    reopened = clean.open()
    assert dict(reopened.getexif()) == {} and "exif" not in reopened.info and "icc_profile" not in reopened.info
    r, g, b = reopened.getpixel((100, 160))
    assert abs(r - 200) < 8 and abs(g - 90) < 8 and abs(b - 40) < 8


def test_intake_accepts_webp_and_gif_and_keeps_transparency():
    webp = intake_image(encoded(Image.new("RGB", (64, 48), (0, 0, 255)), "WEBP"))
    assert (webp.source_format, webp.format, webp.width, webp.height) == ("WEBP", "JPEG", 64, 48)
    frames = [Image.new("P", (40, 30), i) for i in (1, 2, 3)]
    gif = intake_image(encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert (gif.source_format, gif.format, gif.width, gif.height) == ("GIF", "PNG", 40, 30)
    sticker = intake_image(encoded(Image.new("RGBA", (20, 20), (255, 0, 0, 0)), "PNG"))
    assert sticker.format == "PNG" and sticker.open().mode == "RGBA"


def test_the_graphic_copy_stays_under_200_kb():
    noise = Image.merge("RGB", [Image.effect_noise((2400, 1600), 120) for _ in range(3)])
    uri = preview_data_uri(noise, max_side=640, max_bytes=200_000)
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) <= 200_000
    small = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(small.size) <= 640


# -- what a text model is told ------------------------------------------------------------------


@pytest.mark.parametrize(("photo", "expected"), [("chelsea", CAT_LABELS), ("coffee", {"espresso", "cup", "coffee mug"})])
def test_the_classifier_names_a_real_photo(photo, expected):
    skimage_data = pytest.importorskip("skimage.data")
    image = Image.fromarray(getattr(skimage_data, photo)())
    labels = default_classifier().classify(image, top_k=5)
    names = [label for label, _ in labels]
    assert expected & set(names), names
    probabilities = [p for _, p in labels]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1.0001


def test_the_sunset_asset_is_described_in_words():
    description = describe_image(intake_image(SUNSET).open())
    facts = description.facts
    assert (facts["width"], facts["height"], facts["orientation"], facts["tone"]) == (1024, 640, "landscape", "warm")
    assert {"orange", "dark blue"} <= {c["name"] for c in facts["colours"]}
    text = description.prompt_text()
    assert text.startswith("The picture shows, most likely first: ") and "landscape" in text and "%" not in text
    assert len(description.labels) == 5


def test_colours_are_named_in_plain_words():
    assert colour_name((250, 250, 250)) == "white"
    assert colour_name((5, 5, 10)) == "black"
    assert colour_name((240, 130, 30)) == "orange"
    assert colour_name((20, 30, 90)) == "dark blue"
    assert colour_name((120, 120, 125)) == "grey"


# -- the poem's form --------------------------------------------------------------------------


def test_a_rhyming_quatrain_meets_the_form():
    poem = "**Dusk**\n1. The sun goes down upon the sea,\n2. A boat sails home so silently.\n\nThe golden light begins to fade,\nAnd night arrives in purple shade."
    form = check_form(poem, 4, rhyme_asked=True)
    assert (form.lines, form.rhyme_pairs, form.meets_form, form.notes) == (4, [(1, 2), (3, 4)], True, "")


def test_wrong_length_and_no_rhyme_are_reported():
    form = check_form("Waves roll in\nthe boat drifts out\nsky turns red", 4, rhyme_asked=True)
    assert not form.meets_form and form.lines == 3 and form.rhyme_pairs == []
    assert form.notes == "3 lines, 4 asked; 0 of 3 lines rhyme"
    assert check_form("Waves roll in\nthe boat drifts out\nsky turns red\nand day is done", 4, rhyme_asked=False).meets_form


def test_rhyme_is_judged_by_spelling_within_its_limits():
    assert rhymes("night", "light") and rhymes("day", "away") and rhymes("sea", "free") and rhymes("sky", "high")
    assert not rhymes("sea", "sea")  # the same word is not a rhyme
    assert not rhymes("through", "blue")  # a documented miss: spelt apart
    assert check_form("红日落西山\n海上一帆船\n晚霞照远山\n渔歌唱晚天", 4, True).rhyme_pairs == [(1, 3)]  # same final character only


# -- the VLM path --------------------------------------------------------------------------------

VLM_SCRIPT = {
    "show": {"id": "vlm", "title": "VLM"},
    "engines": {
        "eyes": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "qwen2-vl", "vision": True},
        "text": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "smol"},
    },
    "contestants": [{"id": "ada", "name": "Ada", "engine": "eyes"}, {"id": "bao", "name": "Bao", "engine": "text"}],
    "stages": [{"kind": "image_poem", "image": "assets/sunset-sea.jpg"}],
}


def test_vlm_contestants_get_the_picture_as_an_openai_content_part():
    script = ShowScript.model_validate(VLM_SCRIPT)
    assert sees_images(script, "ada") and not sees_images(script, "bao")
    spec = script.stages[0]
    prompt = render_prompt(Messages("en"), spec.prompt, spec.lines, spec.rhyme, "The picture is attached.")
    uri = preview_data_uri(intake_image(SUNSET).open(), 1024, 4_000_000)
    messages = vlm_messages(prompt, uri)
    assert messages[0]["content"][0] == {"type": "image_url", "image_url": {"url": uri}}
    assert messages[0]["content"][1]["text"].startswith("Write a poem of exactly 4 lines about this picture. Make the line endings rhyme.")
    # The OpenAI-compatible backend sends list content through untouched.
    body = OpenAIEngine("eyes", "http://127.0.0.1:9/v1", "qwen2-vl").request_body(GenerationRequest("r1", messages))
    assert body["messages"] == messages


def test_the_stage_spec_is_validated():
    bad = {**VLM_SCRIPT, "stages": [{"kind": "image_poem", "image": "x.png", "prompt": "Write {lines} lines"}]}
    with pytest.raises(ValueError, match="must contain {description}"):
        ShowScript.model_validate(bad)
    bad["stages"] = [{"kind": "image_poem", "image": "upload:nothex"}]
    with pytest.raises(ValueError, match="upload:<16 hex digits>"):
        ShowScript.model_validate(bad)


# -- the upload endpoint ------------------------------------------------------------------------


def test_the_director_uploads_an_image_and_a_bad_one_is_refused_clearly(tmp_path):
    studio = Studio(load_script(REPO / "show_scripts" / "rehearsal.yaml"), tmp_path / "data", pool=engineless_pool())
    with LiveStudio(studio) as live:
        director = {"Authorization": f"Bearer {live.director_token}"}
        graphics = {"Authorization": f"Bearer {live.graphics_token}"}
        post = lambda body, headers=None: httpx.post(f"{live.base}/api/images", content=body, headers=headers or {})  # noqa: E731
        assert post(b"x").status_code == 401
        assert post(b"x", graphics).status_code == 403
        refused = post(b"GIF00 not really", director)
        assert refused.status_code == 400 and refused.json() == {"error": "image: not a PNG/JPEG/WebP/GIF file"}
        bomb = post(png_header_claiming(100_000, 100_000), director)
        assert bomb.status_code == 400 and "decompression bomb" in bomb.json()["error"]
        accepted = post(SUNSET.read_bytes(), director)
        assert accepted.status_code == 201, accepted.text
        body = accepted.json()
        assert body["image"].startswith("upload:") and (body["width"], body["height"], body["format"]) == (1024, 640, "JPEG")
        image_id = body["image"].removeprefix("upload:")
        assert (tmp_path / "data" / "images" / f"{image_id}.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
        fetched = httpx.get(f"{live.base}/api/images/{image_id}", headers=graphics)
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/jpeg"
        assert httpx.get(f"{live.base}/api/images/../../etc", headers=director).status_code == 404


# -- end to end on the real engine ----------------------------------------------------------------

SCRIPT = """
show: {id: poems, title: "Image to poem", autopilot_pause_s: 0}
engines:
  local: {kind: vllm, model: smollm2-135m-instruct, dtype: float32, enforce_eager: true, max_model_len: 1024, kv_cache_gib: 0.5}
contestants:
  - {id: ada, name: Ada, engine: local, system_prompt: "You are a poet."}
  - {id: bao, name: Bao, engine: local, system_prompt: "You are a poet who loves the sea."}
stages:
  - kind: image_poem
    image: IMAGE
    lines: 4
    rhyme: true
    sampling: {temperature: 0, max_tokens: 40, seed: 1}
    time_limit_s: 30
"""


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("poems")
    (tmp / "show.yaml").write_text(SCRIPT.replace("IMAGE", str(SUNSET)))
    script = load_script(tmp / "show.yaml")
    with LiveStudio(Studio(script, tmp / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        started = time.monotonic()
        assert live.command("start").json()["changed"]
        thread.join(timeout=120)
        yield {"program": program, "state": live.state(), "stage_s": time.monotonic() - started}


def test_the_picture_goes_on_air_with_what_the_text_models_were_told(show):
    program = show["program"]
    assert program.error is None, program.error
    (shown,) = [e["data"] for e in program.of_type("image.shown")]
    assert shown["path"] == "labels" and shown["paths"] == {"ada": "labels", "bao": "labels"}
    assert len(shown["labels"]) == 5 and all(0 < label["p"] <= 1 for label in shown["labels"])
    assert shown["image"].startswith("data:image/jpeg;base64,") and len(shown["image"]) <= 200_000
    assert (shown["width"], shown["height"], shown["source"]) == (1024, 640, "sunset-sea.jpg")
    assert shown["facts"]["tone"] == "warm" and shown["facts"]["colours"]
    types = [e["type"] for e in program.events]
    assert types.index("image.shown") < types.index("question.asked") < types.index("answer.token")


def test_both_poems_stream_live_and_get_a_form_check(show):
    program = show["program"]
    (asked,) = [e["data"] for e in program.of_type("question.asked")]
    assert asked["kind"] == "poem" and asked["question_id"] == "poem-0"
    streamed = {e["data"]["contestant"] for e in program.of_type("answer.token")}
    assert streamed == {"ada", "bao"}
    finished = {e["data"]["contestant"]: e["data"] for e in program.of_type("answer.finished")}
    assert set(finished) == {"ada", "bao"} and all(f["status"] == "done" and f["text"] for f in finished.values())
    forms = {e["data"]["contestant"]: e["data"] for e in program.of_type("poem.form")}
    assert set(forms) == {"ada", "bao"}
    for who, form in forms.items():
        expected = check_form(finished[who]["text"], 4, True)
        assert (form["lines"], form["meets_form"], [tuple(p) for p in form["rhyme_pairs"]]) == (
            expected.lines,
            expected.meets_form,
            expected.rhyme_pairs,
        )
        assert form["lines_asked"] == 4 and form["rhyme_asked"] is True


def test_the_stage_completes(show):
    program = show["program"]
    assert [e["data"]["status"] for e in program.of_type("stage.ended")] == ["completed"]
    assert [e["data"]["question_id"] for e in program.of_type("question.closed")] == ["poem-0"]
    assert show["state"]["show"]["status"] == "completed"
    assert show["stage_s"] < 60, show["stage_s"]
