"""AlignmentExplorer: change the identifiers of a mail and watch DMARC alignment.

The learner edits the header From domain, the MAIL FROM (envelope) domain, the DKIM
``d=`` domain and the record's ``aspf`` / ``adkim`` / ``p`` settings; the widget asks
:mod:`labkit.auth.dmarc` for the organisational domains and each alignment, and shows
the verdict. SPF is assumed to pass for the MAIL FROM domain and DKIM to pass for
``d=`` (as in the alignment-break phish): the question asked here is only *whose*
domain passed. The widget computes nothing itself.
Introduced in lab 05 (DMARC).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import traitlets

from .. import _coerce
from ..errors import UsageError
from ._fallback import TextFallback

log = logging.getLogger(__name__)

__all__ = ["AlignmentExplorer"]

_FIELDS = ("header_from", "mail_from", "dkim_domain", "aspf", "adkim", "p", "method")
_MODES = (("relaxed (r)", "r"), ("strict (s)", "s"))
_POLICIES = ("none", "quarantine", "reject")
_METHODS = (("RFC 9989 DNS tree walk", "treewalk"), ("RFC 7489 Public Suffix List", "psl"))


def _choices(control: widgets.Widget) -> tuple[str, ...]:
    """The values a selection control accepts (its options are values or (label, value))."""
    return tuple(o[1] if isinstance(o, tuple) else o for o in control.options)


_EXAMPLES = {"header_from": "brand.example", "mail_from": "attacker.test", "dkim_domain": "attacker.test"}


def _mapping(value: Any) -> dict:
    """``value`` as a dict (any mapping is copied into one); else a ``TypeError`` naming the keys."""
    if not isinstance(value, Mapping):
        raise TypeError(f"value must be a dict such as {{'aspf': 's'}} with keys from "
                        f"{', '.join(_FIELDS)}, not {type(value).__name__} {value!r}")
    return dict(value)


class _Identifiers(traitlets.Dict):
    """The ``value`` trait: a dict; anything else is a ``TypeError`` at the assignment,
    not traitlets' TraitError."""

    def validate(self, obj: Any, value: Any) -> Any:
        """``value`` as a dict, or the ``TypeError`` of :func:`_mapping`."""
        return super().validate(obj, _mapping(value))


def _domain_of(identity: str) -> str:
    """The domain part of an address (or the text itself when it is a bare domain)."""
    text = identity.strip().strip("<>")
    return text.rpartition("@")[2].lower().rstrip(".")


class AlignmentExplorer(TextFallback, widgets.VBox):
    """Explore DMARC identifier alignment.

    ``.value`` is a dict with keys ``header_from``, ``mail_from``, ``dkim_domain``,
    ``aspf``, ``adkim`` ("r" or "s"), ``p`` and ``method`` ("treewalk" or "psl");
    setting it (or editing the controls) re-evaluates.  A setting may give only the keys
    it changes; a wrong type is a ``TypeError`` and a value that is no choice (or an
    unknown key) a :class:`~labkit.errors.UsageError`, and the widget keeps its previous
    value (a domain labkit cannot read, such as one with a space, is a UsageError too).  An
    edit in the boxes that cannot be evaluated shows why (``.error``) in place of a verdict.
    ``.verdict`` holds the last evaluation as a dict, ``.text`` what is shown. ``dns`` (a LabDNS or resolver) selects the RFC 9989 DNS tree walk for the
    organisational domain; without it the Public Suffix List (RFC 7489) is used.
    Introduced in lab 05 (DMARC).
    """

    value = _Identifiers()

    def __init__(
        self,
        header_from: str = "brand.example",
        mail_from: str = "attacker.test",
        dkim_domain: str = "attacker.test",
        *,
        aspf: str = "r",
        adkim: str = "r",
        p: str = "reject",
        method: str | None = None,
        dns: Any = None,
        **kwargs: Any,
    ) -> None:
        # wrong types fail here, naming the argument (True used to become the domain 'true')
        header_from = _coerce.text(header_from, "header_from", example="brand.example")
        mail_from = _coerce.text(mail_from, "mail_from", example="attacker.test")
        dkim_domain = _coerce.text(dkim_domain, "dkim_domain", example="attacker.test")
        modes = tuple(value for _, value in _MODES)
        aspf, adkim = _coerce.choice(aspf, modes, "aspf"), _coerce.choice(adkim, modes, "adkim")
        p = _coerce.choice(p, _POLICIES, "p")
        if method is not None:  # (a choice, checked with the others when value is set below)
            _coerce.text(method, "method", example="psl")
        self.dns = dns
        self.verdict: dict[str, Any] = {}
        # why the identifiers typed in the boxes cannot be evaluated (None when they can)
        self.error: str | None = None
        self._next_verdict: dict[str, Any] = {}
        text = {"layout": widgets.Layout(width="22em"), "continuous_update": False}
        self._controls = {
            "header_from": widgets.Text(description="header From", **text),
            "mail_from": widgets.Text(description="MAIL FROM", **text),
            "dkim_domain": widgets.Text(description="DKIM d=", **text),
            "aspf": widgets.ToggleButtons(options=_MODES, description="aspf"),
            "adkim": widgets.ToggleButtons(options=_MODES, description="adkim"),
            "p": widgets.ToggleButtons(options=_POLICIES, description="p"),
            "method": widgets.Dropdown(
                options=_METHODS if dns is not None else _METHODS[1:],
                description="org. domain",
            ),
        }
        for c in self._controls.values():
            c.style.description_width = "8em"
            c.observe(self._from_controls, names="value")
        self._view = widgets.HTML()
        super().__init__([*self._controls.values(), self._view], **kwargs)
        self.observe(self._on_value, names="value")
        self.value = {
            "header_from": header_from,
            "mail_from": mail_from,
            "dkim_domain": dkim_domain,
            "aspf": aspf,
            "adkim": adkim,
            "p": p,
            "method": method or ("treewalk" if dns is not None else "psl"),
        }

    # --- value <-> controls --------------------------------------------------------

    @traitlets.validate("value")
    def _complete(self, proposal: Any) -> dict[str, str]:
        # evaluated before the value changes: a domain labkit cannot read (spaces, a
        # comment after the address) is a UsageError and the widget keeps its value
        value = self._checked(proposal["value"])
        self._next_verdict = self.evaluate(value)
        return value

    def _checked(self, value: Any) -> dict[str, str]:
        """``value`` (all the fields or some) completed from the controls and checked:
        the domains must be text, ``aspf``/``adkim``/``p``/``method`` one of their choices
        (read as :func:`labkit._coerce.choice` reads them: case and spaces ignored)."""
        value = _mapping(value)
        unknown = [k for k in value if k not in _FIELDS]
        if unknown:
            raise UsageError(f"unknown keys {sorted(unknown)} in value: the keys are "
                             f"{', '.join(_FIELDS)}")
        new = {k: self._controls[k].value for k in _FIELDS}
        for k, v in value.items():
            if k in _EXAMPLES:
                new[k] = _coerce.text(v, k, example=_EXAMPLES[k])
                continue
            allowed = _choices(self._controls[k])
            if k == "method" and isinstance(v, str) and v.strip().lower() == "treewalk" \
                    and "treewalk" not in allowed:
                raise UsageError(f"method must be {' or '.join(map(repr, allowed))}, not {v!r}: "
                                 "the DNS tree walk needs dns=... (a LabDNS or a resolver)")
            new[k] = _coerce.choice(v, allowed, k)
        return new

    def _from_controls(self, _change: Any) -> None:
        if getattr(self, "_syncing", False):
            return
        # an edit in the browser: an error raised here would reach only the kernel's log,
        # and the verdict for the previous identifiers would stay on show; show it instead
        try:
            self.value = {k: self._controls[k].value for k in _FIELDS}
        except (UsageError, TypeError) as exc:
            self.error = f"cannot evaluate what is typed above: {exc}"
            self.verdict = {}
            self._render()
            return
        if self.error is not None:  # fixed, perhaps back to the value held before
            self.error = None
            self.verdict = self.evaluate(self.value)
            self._render()

    def _on_value(self, change: Any) -> None:
        self._syncing = True
        try:
            for k in _FIELDS:
                self._controls[k].value = change["new"][k]
        finally:
            self._syncing = False
        self.error = None
        self.verdict = self._next_verdict
        self._render()

    # --- asking labkit.auth.dmarc ----------------------------------------------------

    def _org(self, domain: str, method: str) -> str:
        import labkit.auth.dmarc as dmarc

        return dmarc.org_domain(domain, dns=self.dns, method=method)

    def _aligned(self, auth_domain: str, from_domain: str, mode: str, method: str) -> bool:
        import labkit.auth.dmarc as dmarc

        return bool(dmarc.aligned(auth_domain, from_domain, mode, dns=self.dns, method=method))

    def evaluate(self, value: dict[str, str]) -> dict[str, Any]:
        """Alignment and verdict for one set of identifiers (asks labkit.auth.dmarc).

        ``value`` is checked as a setting of ``.value`` is; keys left out are taken from
        the widget's current value, which this call does not change.
        """
        value = self._checked(value)
        hf = _domain_of(value["header_from"])
        mf = _domain_of(value["mail_from"])
        d = _domain_of(value["dkim_domain"])
        how = value["method"]
        org: dict[str, str] = {}
        for box, domain in (("header From", hf), ("MAIL FROM", mf), ("DKIM d=", d)):
            if domain and domain not in org:
                try:  # an unreadable domain is named by the box it was typed in
                    org[domain] = self._org(domain, how)
                except UsageError as exc:
                    raise UsageError(f"the {box} domain {domain!r} cannot be read: "
                                     f"{str(exc).split(': ', 1)[-1]}") from None
        spf_aligned = bool(mf) and self._aligned(mf, hf, value["aspf"], how)
        dkim_aligned = bool(d) and self._aligned(d, hf, value["adkim"], how)
        passed = spf_aligned or dkim_aligned
        verdict = {
            "header_from": hf,
            "mail_from": mf,
            "dkim_domain": d,
            "org": org,
            "spf_aligned": spf_aligned,
            "dkim_aligned": dkim_aligned,
            "dmarc": "pass" if passed else "fail",
            "disposition": "none" if passed else value["p"],
        }
        from labkit.auth.orgdomain import is_address_literal

        if not hf or is_address_literal(hf):
            # no From domain (or an address where it goes): nothing to align with and no
            # policy to look up; DMARC neither passes nor fails (labkit's check says
            # permerror, and its disposition)
            import labkit.auth.dmarc as dmarc

            ref = dmarc.check(hf or None, dns=self.dns, method=how,
                              from_problem=None if hf else "the header From has no domain")
            verdict.update(dmarc=ref.result, disposition=ref.disposition, reason=ref.reason)
        return verdict

    # --- what is shown ---------------------------------------------------------------

    def _lines(self) -> list[tuple[str, str, bool | None]]:
        if self.error is not None:
            return [("error", self.error, False)]
        v, val = self.verdict, self.value
        mode = {"r": "relaxed", "s": "strict"}
        hf = v["header_from"] or "(empty)"
        return [
            (
                f"organisational domains ({val['method']})",
                ", ".join(f"{k} → {o}" for k, o in v["org"].items()),
                None,
            ),
            (
                f"SPF ({mode[val['aspf']]})",
                f"MAIL FROM {v['mail_from'] or '(empty)'} vs From {hf}: "
                + ("aligned" if v["spf_aligned"] else "not aligned"),
                v["spf_aligned"],
            ),
            (
                f"DKIM ({mode[val['adkim']]})",
                f"d={v['dkim_domain'] or '(none)'} vs From {hf}: "
                + ("aligned" if v["dkim_aligned"] else "not aligned"),
                v["dkim_aligned"],
            ),
            (
                "DMARC",
                f"{v['dmarc']} ({v['reason']}) → disposition {v['disposition']}" if "reason" in v
                else f"{v['dmarc']} → disposition {v['disposition']} (p={val['p']})",
                v["dmarc"] == "pass",
            ),
        ]

    @property
    def text(self) -> str:
        """Plain text of what the widget shows now."""
        return "\n".join(f"{label}: {what}" for label, what, _ok in self._lines())

    def _render(self) -> None:
        colour = {True: "#d8f5d0", False: "#f9d6d5", None: "transparent"}
        rows = "".join(
            f'<tr style="background:{colour[ok]}"><th style="text-align:left">'
            f"{html.escape(label)}</th><td>{html.escape(what)}</td></tr>"
            for label, what, ok in self._lines()
        )
        self._view.value = f"<table>{rows}</table>"
        log.debug("AlignmentExplorer: %s", self.verdict)
