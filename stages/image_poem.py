"""Image to poem (图生文): a picture goes on air and every contestant writes a poem about it, live.

How a contestant sees the picture ("path", shown on the graphic):
- ``vlm``: its engine is an OpenAI-compatible server configured ``vision: true`` (a remote VLM, or
  vLLM serving a multimodal model); the picture goes in the user message as an ``image_url``
  content part (a JPEG/PNG data URI, at most 1024 px a side).
- ``labels``: any other engine (and everyone when the stage says ``vision: labels``). The picture
  is described in words: the EfficientNet-Lite0 ImageNet classifier's top labels with their
  probabilities, and colour/brightness facts (stages/image_features.py).
The classifier runs either way, so the graphic can always show what a text model would be told.

Order on air: ``image.shown`` (a small copy of the picture, the path, labels and facts), then the
poems as a ``question.asked`` of kind "poem" and ``answer.*`` through the shared streaming path
(content filter, cut, cancel: stages/answering.py), a ``poem.form`` per contestant as each poem
ends (line count, end rhymes: stages/poem_form.py), an optional audience poll on the best poem
(feeds the leaderboard's creativity), an optional hold for the judges, then ``question.closed``.

The picture is checked and re-encoded before anyone sees it (stages/image_intake.py); a bad file
is an ``input.refused`` with the intake's message, and the stage ends aborted. After a restart a stage whose poem question closed is
not run again; one that had not is run from the top (the picture is shown again).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core import events as ev
from core.events import answer_target
from core.locale import Messages

from .answering import AnsweredOnAir, stream_answers
from .base import StageContext
from .image_features import ImageDescription, describe_image_async
from .image_intake import IntakeImage, intake_image, preview_data_uri
from .poem_form import check_form
from .speed_qa import sampling_from
from .verdicts import wait_for_judges

VLM_DESCRIPTION = "The picture is attached."
VLM_MAX_SIDE = 1024
GRAPHIC_MAX_SIDE = 640
GRAPHIC_MAX_BYTES = 200_000


def render_prompt(messages: Messages, template: str, lines: int, rhyme: bool, description: str) -> str:
    """The poem's prompt; the rhyme instruction is in the show's language."""
    instruction = messages.t("prompt.rhyme" if rhyme else "prompt.no_rhyme")
    return template.format(lines=lines, rhyme=instruction, description=description).strip()


def vlm_messages(prompt: str, image_uri: str) -> list[dict]:
    """One user turn with the picture and the instructions, as OpenAI-compatible VLM servers take it."""
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image_uri}}, {"type": "text", "text": prompt}]}]


def sees_images(script, contestant: str) -> bool:
    """Whether this contestant's engine is configured as a VLM."""
    engine = next(c.engine for c in script.contestants if c.id == contestant)
    return bool(getattr(script.engines[engine], "vision", False))


def image_source(ctx: StageContext, name: str) -> Path:
    """The file a stage's ``image`` names: a path relative to the script, or ``upload:<id>`` in the
    studio's images folder (studio/server/image_api.py), which the controller hands over as
    ``ctx.images_dir`` where it has one."""
    if name.startswith("upload:"):
        folder = getattr(ctx, "images_dir", None)
        if folder is None:
            raise ValueError(f"image: {name} needs the studio's images folder, which this stage was not given")
        found = sorted(Path(folder).glob(f"{name.removeprefix('upload:')}.*"))
        if not found:
            raise ValueError(f"image: no upload {name} in {folder}")
        return found[0]
    return ctx.script.resolve(name)


def question_text(messages: Messages, lines: int, rhyme: bool) -> str:
    return messages.t("poem.brief_rhyming" if rhyme else "poem.brief", lines=lines)


class ImagePoemStage:
    kind = "image_poem"

    async def run(self, ctx: StageContext) -> None:
        spec = ctx.spec
        contestants = spec.contestants or ctx.contestant_ids
        question_id = f"poem-{ctx.index}"
        if question_id in ctx.state.closed_questions.get(ctx.index, []):
            return  # done before a restart
        await ctx.wait_if_paused()
        try:
            image: IntakeImage = await asyncio.to_thread(intake_image, image_source(ctx, spec.image))
        except ValueError as exc:  # the director sees why; the stage ends aborted
            await ctx.publish(
                ev.InputRefused(data=ev.InputRefusedData(stage=ctx.index, source=f"image {spec.image}", rules=[], reason=str(exc)))
            )
            raise
        picture = await asyncio.to_thread(image.open)
        description = await describe_image_async(picture, spec.top_k)
        paths = {c: "vlm" if spec.vision == "auto" and sees_images(ctx.script, c) else "labels" for c in contestants}
        labels_prompt = render_prompt(ctx.messages, spec.prompt, spec.lines, spec.rhyme, description.prompt_text())
        vlm_prompt = render_prompt(ctx.messages, spec.prompt, spec.lines, spec.rhyme, VLM_DESCRIPTION)
        if ctx.safety is not None:  # the script's template and the classifier's words, before any model
            verdict = ctx.safety.check(labels_prompt)
            if not verdict.allowed:
                await ctx.safety.refuse_input(ctx.index, f"image poem {spec.image}", verdict)
                return
        graphic_uri = await asyncio.to_thread(preview_data_uri, picture, GRAPHIC_MAX_SIDE, GRAPHIC_MAX_BYTES)
        await ctx.publish(ev.ImageShown(data=self._shown(ctx, question_id, image, graphic_uri, paths, description)))
        await ctx.publish(
            ev.QuestionAsked(
                data=ev.QuestionAskedData(
                    stage=ctx.index,
                    number=1,
                    of=1,
                    question_id=question_id,
                    text=question_text(ctx.messages, spec.lines, spec.rhyme),
                    kind="poem",
                    time_limit_s=spec.time_limit_s,
                    deadline_ts=ctx.clock() + spec.time_limit_s,
                    contestants=contestants,
                )
            )
        )
        messages = {"labels": [{"role": "user", "content": labels_prompt}]}
        if "vlm" in paths.values():
            vlm_uri = await asyncio.to_thread(preview_data_uri, picture, VLM_MAX_SIDE, 4_000_000)
            messages["vlm"] = vlm_messages(vlm_prompt, vlm_uri)

        async def check_poem(result: AnsweredOnAir) -> None:
            form = check_form(result.text, spec.lines, spec.rhyme)  # what aired is what viewers judge
            await ctx.publish(
                ev.PoemForm(
                    data=ev.PoemFormData(
                        stage=ctx.index,
                        question_id=question_id,
                        contestant=result.contestant,
                        lines=form.lines,
                        lines_asked=spec.lines,
                        rhyme_asked=spec.rhyme,
                        rhyme_pairs=form.rhyme_pairs,
                        meets_form=form.meets_form,
                        notes=form.notes,
                        rhymed_lines=form.rhymed_lines,
                    )
                )
            )

        sampling = sampling_from(spec.sampling)
        groups: dict[str, list[str]] = {}
        for contestant in contestants:
            groups.setdefault(paths[contestant], []).append(contestant)
        await asyncio.gather(
            *(
                stream_answers(ctx, question_id, who, messages[path], sampling, spec.time_limit_s, check_poem)
                for path, who in groups.items()
            )
        )
        started = time.monotonic()
        await self._audience_poll(ctx, question_id, contestants)
        await wait_for_judges(
            ctx, [answer_target(ctx.index, question_id, c) for c in contestants], spec.judge_wait_s - (time.monotonic() - started)
        )
        await ctx.publish(ev.QuestionClosed(data=ev.QuestionClosedData(stage=ctx.index, question_id=question_id)))

    @staticmethod
    def _shown(
        ctx: StageContext, question_id: str, image: IntakeImage, uri: str, paths: dict[str, str], description: ImageDescription
    ) -> ev.ImageShownData:
        spec = ctx.spec
        kinds = set(paths.values())
        return ev.ImageShownData(
            stage=ctx.index,
            question_id=question_id,
            image=uri,
            source=spec.image if spec.image.startswith("upload:") else Path(spec.image).name,
            width=image.width,
            height=image.height,
            path=kinds.pop() if len(kinds) == 1 else "mixed",
            paths=paths,
            labels=[ev.ImageLabel(label=label, p=round(p, 4)) for label, p in description.labels],
            facts=ev.ImageFacts.model_validate(description.facts),
            lines=spec.lines,
            rhyme=spec.rhyme,
        )

    @staticmethod
    async def _audience_poll(ctx: StageContext, question_id: str, contestants: list[str]) -> None:
        spec = ctx.spec
        if spec.vote_s <= 0 or ctx.open_poll is None or ctx.wait_poll_closed is None or len(contestants) < 2:
            return
        names = {c.id: c.name for c in ctx.script.contestants}
        poll_id = f"{question_id}-best"
        if poll_id not in ctx.state.polls:
            ok, _changed, reason = await ctx.open_poll(
                poll_id=poll_id,
                title=ctx.messages.t("poll.best_poem"),
                kind="choice",
                choices=[ev.PollChoice(id=c, label=names[c]) for c in contestants],
                allow_change=False,
                dimension=spec.dimension,
                stage=ctx.index,
                duration_s=spec.vote_s,
            )
            if not ok:
                raise RuntimeError(f"could not open the best-poem poll: {reason}")
        await ctx.wait_poll_closed(poll_id)
