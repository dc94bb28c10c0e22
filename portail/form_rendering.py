"""Template helpers for schema-built forms (the DSFR macros in templates/forms/_fields.html)."""


def field_prefix(field) -> str:
    """``etablissement-`` for ``etablissement-ville``: where a field's siblings are named."""
    return field.name[: len(field.name) - len(field.short_name)]


def input_attrs(field, css_class: str) -> dict:
    """HTML attributes of an input, select or textarea: DSFR classes, ARIA links to its messages."""
    attrs = {
        "class": css_class + (f" {css_class}--error" if field.errors else ""),
        "aria-describedby": f"{field.id}-messages",
    }
    if field.errors:
        attrs["aria-invalid"] = "true"
    spec = getattr(field, "spec", None)
    if spec is not None and spec.kind == "commune":
        attrs["data-communes-from"] = field_prefix(field) + spec.commune_postal
    if spec is not None and spec.kind == "file" and spec.file:
        attrs["accept"] = ",".join(spec.file.get("mime-types", []))
    return attrs


def format_value(value, format_name: str) -> str:
    """A stored canonical value as people read it (``{{ telephone|format_value("telephone") }}``)."""
    from forms import formats

    return formats.display(format_name, value) if isinstance(value, str) else value


def init_app(app) -> None:
    from forms import engine

    app.add_template_filter(format_value, "format_value")
    # (field id, label, message) of every error of any form, for the error summary macro.
    app.add_template_global(engine.summary, "summary_of")
    app.add_template_global(input_attrs, "input_attrs")
    app.add_template_global(field_prefix, "field_prefix")
