"""A self-check quiz: exam-style multiple-choice questions with feedback.

Each question shows its choices as radio buttons and a "Check" button; checking
shows whether the choice is right and why. Nothing is graded or stored: the quiz
is for the learner.

Introduced in lab 00 (set-up); every lab ends with one.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from labkit import _coerce
from labkit.errors import UsageError

from ._fallback import TextFallback

__all__ = ["Question", "Quiz"]


def _choices(value: Any) -> tuple:
    """A question's choices as a tuple; one string (its letters would be the choices) or a
    dict (its keys) is a ``TypeError``."""
    return _coerce.sequence(value, "choices", of="answers such as ['25', '587', '110']")


@dataclass(frozen=True, kw_only=True)
class Question:
    """One multiple-choice question.

    ``answer`` is the index of the right choice in ``choices``; ``explanation``
    says why it is right (shown after any check).
    """

    prompt: str
    choices: tuple[str, ...]
    answer: int
    explanation: str = ""

    def __post_init__(self) -> None:
        _coerce.text(self.prompt, "prompt", example="Which port is for mail submission?")
        explanation = "" if self.explanation is None else self.explanation
        object.__setattr__(self, "explanation", _coerce.text(explanation, "explanation"))
        object.__setattr__(self, "choices", _choices(self.choices))
        for choice in self.choices:
            if not isinstance(choice, str):
                # a radio button's value is the choice itself: 587 was compared with the
                # answer's index, so the right number was judged wrong and the number equal
                # to that index right
                raise TypeError(f"choices must be text such as {str(choice)!r}, "
                                f"not {type(choice).__name__} {choice!r}")
        if isinstance(self.answer, bool) or not isinstance(self.answer, numbers.Integral):
            # True used to pick the choice at index 1; "3" failed comparing str with int
            raise TypeError(f"answer must be the index of the right choice (0 for the first), "
                            f"not {type(self.answer).__name__} {self.answer!r}")
        if len(self.choices) < 2:
            raise UsageError(f"a question needs at least two choices, not {len(self.choices)}")
        if not 0 <= self.answer < len(self.choices):
            raise UsageError(f"answer index {self.answer} is not one of the choices: there are "
                             f"{len(self.choices)}, so 0 to {len(self.choices) - 1}")

    @classmethod
    def coerce(cls, item: Question | Mapping[str, Any]) -> Question:
        """Accept a Question or a dict with prompt/choices/answer/explanation."""
        if isinstance(item, Question):
            return item
        if not isinstance(item, Mapping):
            raise TypeError(f"a question is a dict with 'prompt', 'choices' and 'answer' (or a "
                             f"Question), not {type(item).__name__}")
        missing = [k for k in ("prompt", "choices", "answer") if k not in item]
        if missing:
            raise UsageError(f"question {item.get('prompt', '')!r} has no "
                             f"{' or '.join(repr(k) for k in missing)}")
        choices = _choices(item["choices"])
        answer = item["answer"]
        if isinstance(answer, str):
            # the text of the right choice; int("2") would pick the choice at index 2
            if answer not in choices:
                raise UsageError(f"answer {answer!r} is not one of the choices "
                                 f"{', '.join(repr(c) for c in choices)} (give its text or index)")
            answer = choices.index(answer)
        elif isinstance(answer, bool) or not isinstance(answer, int):
            raise TypeError(f"answer must be the index of the right choice (0 for the first) "
                             f"or its text, not {answer!r}")
        return cls(
            prompt=item["prompt"],
            choices=choices,
            answer=answer,
            explanation=item.get("explanation", ""),
        )

    def is_correct(self, choice: str | int | None) -> bool:
        """True when ``choice`` (its text or index) is the right answer."""
        if choice is None:
            return False
        if isinstance(choice, numbers.Integral) and not isinstance(choice, bool):
            return choice == self.answer
        return choice == self.choices[self.answer]

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "prompt": self.prompt,
            "choices": list(self.choices),
            "answer": self.answer,
            "explanation": self.explanation,
        }


class QuestionBox(widgets.VBox):
    """The widget for one question: prompt, radio buttons, Check button, feedback."""

    def __init__(self, question: Question, number: int) -> None:
        self.question = question
        self.prompt = widgets.HTML(f"<b>Q{number}.</b> {html.escape(question.prompt)}")
        self.choices = widgets.RadioButtons(
            options=list(question.choices), value=None, layout=widgets.Layout(width="auto"),
            description=f"Q{number} answer",
        )
        self.button = widgets.Button(description="Check", button_style="info")
        self.feedback = widgets.HTML("")
        self.number = number
        self.button.on_click(self._check)
        self.choices.observe(self._clear, names="value")
        super().__init__([self.prompt, self.choices, self.button, self.feedback])

    def choice_text(self, choice: str | int) -> str:
        """The text of ``choice`` (its text or index); UsageError naming the choices if none."""
        options = self.question.choices
        if (isinstance(choice, numbers.Integral) and not isinstance(choice, bool)
                and 0 <= choice < len(options)):
            return options[int(choice)]
        if isinstance(choice, str) and choice in options:
            return choice
        valid = ", ".join(repr(c) for c in options)
        raise UsageError(
            f"Q{self.number} has no choice {choice!r}; pick one of {valid} "
            f"(or its index, 0 to {len(options) - 1})"
        )

    @property
    def correct(self) -> bool | None:
        """None before the first check, then whether the checked choice was right."""
        return self._correct

    _correct: bool | None = None

    def _clear(self, _change: Any = None) -> None:
        """A new selection makes the last feedback stale: clear it until the next check."""
        self._correct = None
        self.feedback.value = ""

    def _check(self, _button: Any = None) -> None:
        value = self.choices.value
        if value is None:
            self._correct = None
            self.feedback.value = "<i>Pick an answer first.</i>"
            return
        self._correct = self.question.is_correct(value)
        why = html.escape(self.question.explanation)
        if self._correct:
            self.feedback.value = f"<span style='color:green'>&#10004; Correct.</span> {why}"
        else:
            self.feedback.value = (
                "<span style='color:#b00'>&#10008; Not quite, try again.</span>"
            )


class Quiz(TextFallback, widgets.VBox):
    """A self-check quiz built from questions (``Question`` objects or dicts).

    >>> quiz = Quiz([{"prompt": "2+2?", "choices": ["3", "4"], "answer": 1}])
    >>> quiz.items[0].choices.value = "4"; quiz.items[0].button.click()
    >>> quiz.score
    1

    Introduced in lab 00 (set-up).
    """

    def __init__(
        self, questions: Iterable[Question | Mapping[str, Any]], *, title: str = "Self-check"
    ) -> None:
        title = _coerce.text(title, "title", example="Self-check")
        if isinstance(questions, (Mapping, Question)):
            questions = [questions]  # one question, not a list of its keys
        questions = _coerce.sequence(questions, "questions",
                                     of="questions (dicts with 'prompt', 'choices' and 'answer')")
        self.questions: tuple[Question, ...] = tuple(Question.coerce(q) for q in questions)
        if not self.questions:
            raise UsageError("a quiz needs at least one question")
        self.items: tuple[QuestionBox, ...] = tuple(
            QuestionBox(q, i) for i, q in enumerate(self.questions, 1)
        )
        self.summary = widgets.HTML("")
        for item in self.items:
            item.button.on_click(self._update_summary)
            item.choices.observe(self._update_summary, names="value")
        self._update_summary()
        header = widgets.HTML(f"<h4>{html.escape(title)}</h4>")
        super().__init__([header, *self.items, self.summary])

    @property
    def score(self) -> int:
        """How many questions are checked, with the right answer, and not changed since."""
        return sum(1 for item in self.items if item.correct)

    def answer(self, choices: Sequence[str | int]) -> int:
        """Select one choice per question (text or index), check all, return the score.

        A choice that does not exist raises :class:`~labkit.errors.UsageError` naming
        the valid ones, before anything is selected.
        """
        choices = tuple(choices)
        if len(choices) != len(self.items):
            raise UsageError(
                f"answer() takes one choice per question: {len(self.items)} question(s), "
                f"{len(choices)} choice(s) given"
            )
        texts = [item.choice_text(choice) for item, choice in zip(self.items, choices, strict=True)]
        for item, text in zip(self.items, texts, strict=True):
            item.choices.value = text
            item.button.click()
        return self.score

    def _update_summary(self, _button: Any = None) -> None:
        checked = sum(1 for item in self.items if item.correct is not None)
        self.summary.value = (
            f"<i>{self.score} of {len(self.items)} right ({checked} checked).</i>"
        )

    @property
    def text(self) -> str:
        """The questions and choices as plain text, and what each check said, as the widget
        shows it: the explanation only after a right answer, never the answer itself."""
        n = len(self.questions)
        lines = [f"Quiz: {n} question{'' if n == 1 else 's'}"]
        for i, (q, item) in enumerate(zip(self.questions, self.items, strict=True), 1):
            lines.append(f"Q{i}. {q.prompt}")
            lines.extend(f"   ({_letter(j)}) {c}" for j, c in enumerate(q.choices))
            if item.correct is not None:
                picked = q.choices.index(item.choices.value)
                said = f"correct. {q.explanation}".rstrip() if item.correct \
                    else "not quite, try again."
                lines.append(f"   -> checked ({_letter(picked)}) {q.choices[picked]}: {said}")
        checked = sum(1 for item in self.items if item.correct is not None)
        if checked:
            lines.append(f"{self.score} of {n} right ({checked} checked).")
        return "\n".join(lines)


def _letter(index: int) -> str:
    """The letter of the choice at ``index``: a to z, then aa, ab, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(97 + rest) + letters
    return letters
