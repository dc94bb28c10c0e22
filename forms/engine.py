"""The engine's entry points for a view: an empty or prefilled form, and a submitted one."""

from __future__ import annotations

from dataclasses import dataclass, field

from forms.document import DocumentBuilder, prefill_object
from forms.registry import FormDefinition

ACTION_FIELD = "_action"


@dataclass
class Outcome:
    """What a post produced: the bound form (errors attached), the document when valid."""

    form: object
    document: dict | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    action: str | None = None

    @property
    def valid(self) -> bool:
        return self.action is None and not self.errors and self.document is not None


def new_form(definition: FormDefinition, prefill: dict | None = None):
    """The form to display, showing ``prefill`` (a document) where given."""
    return definition.form_class(formdata=None, obj=prefill_object(prefill, definition.tree))


def submit(
    definition: FormDefinition, formdata, prefill: dict | None = None, *, stocker: bool = True
) -> Outcome:
    """Bind a post, apply an add/remove action or validate it.

    ``formdata`` is the request's form and files (``CombinedMultiDict``); ``prefill`` holds the
    server's values, the only source of read-only fields. ``stocker=False`` is a dry run:
    attached files are checked exactly as they would be, but nothing is written or recorded.
    """
    form = definition.form_class(formdata=formdata, obj=prefill_object(prefill, definition.tree))
    action = formdata.get(ACTION_FIELD)
    if action and _apply_action(form, action):
        return Outcome(form=form, action=action)

    form.validate()  # CSRF and WTForms' own checks; validity itself is jsonschema's
    errors: dict[str, list[str]] = {}
    for bound in _walk(form):
        if bound.errors:
            errors[bound.name] = list(bound.errors)

    builder = DocumentBuilder(prefill, stocker=stocker)
    document = builder.build(form)
    for name, messages in builder.errors.items():
        errors.setdefault(name, []).extend(messages)
    for name, messages in definition.errors(document).items():
        name = _field_name(form, name)
        if name in builder.errors:
            continue  # the coercion message already says what is wrong
        errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
    _attach(form, errors)
    return Outcome(form=form, document=document, errors=errors)


def summary(form) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error, in page order, for the error summary."""
    lines = [("", "", message) for message in getattr(form, "form_errors", [])]
    for bound in _walk(form):
        for message in bound.errors or []:
            lines.append((bound.id, str(bound.label.text) if bound.label else "", message))
    return lines


def _walk(container):
    """Every field that can carry errors: leaves and repeated groups, not their containers."""
    return (bound for bound in _walk_all(container) if bound.type != "FormField")


def _fields_by_name(form) -> dict:
    found = {}
    for bound in _walk_all(form):
        found[bound.name] = bound
    return found


def _walk_all(container):
    for bound in container:
        yield bound
        if bound.type == "FormField":
            yield from _walk_all(bound.form)
        elif bound.type == "FieldList":
            for entry in bound.entries:
                yield entry
                yield from _walk_all(entry.form)


def _field_name(form, name: str) -> str:
    return form._prefix + name if name else name


def _attach(form, errors: dict[str, list[str]]) -> None:
    """Put each message on its field; the nearest enclosing field, or the form, otherwise."""
    fields = _fields_by_name(form)
    form.form_errors = list(errors.get("", []))
    for name, messages in errors.items():
        if not name:
            continue
        target, probe = None, name
        while probe:
            target = fields.get(probe)
            if target is not None:
                break
            probe = probe.rpartition("-")[0]
        if target is None or target.type == "FormField":
            form.form_errors.extend(m for m in messages if m not in form.form_errors)
            continue
        if target.errors is None or isinstance(target.errors, tuple):
            target.errors = []
        for message in messages:
            if message not in target.errors:
                target.errors.append(message)


def _apply_action(form, action: str) -> bool:
    """``add:<list field name>`` or ``remove:<entry name>``; True when something changed."""
    verb, _, name = action.partition(":")
    fields = _fields_by_name(form)
    if verb == "add":
        target = fields.get(name)
        if target is None or target.type != "FieldList":
            return False
        maximum = target.spec.max_entries
        if maximum and len(target.entries) >= maximum:
            target.errors = [f"Vous ne pouvez pas ajouter plus de {maximum} éléments."]
            return True
        target.append_entry()
        return True
    if verb == "remove":
        list_name, _, index = name.rpartition("-")
        target = fields.get(list_name)
        if target is None or target.type != "FieldList" or not index.isdigit():
            return False
        entries = [entry for entry in target.entries if entry.name != name]
        if len(entries) == len(target.entries):
            return False
        if len(target.entries) <= max(target.spec.min_entries, 1):
            return True  # the page offers no remove button there: keep the entry
        target.entries = entries
        return True
    return False
