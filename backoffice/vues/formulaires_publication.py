"""« Formulaires », second half: preview a draft, publish it, discard it, restore a version.

- « Aperçu »: the draft rendered by the public templates (DSFR), exactly as the public will
  see it; submitting validates and shows the errors, and stores nothing.
- « Publier… »: every reason the draft cannot be published (safety gate, metaschema, our
  vocabulary, the bindings the code reads), else the summary of the changes against the
  served version and a confirmation button.
- « Versions »: every published version, with « Restaurer » (published again under a new
  number) for the older ones.

The pages share the URL space of ``backoffice.vues.formulaires`` (``/backoffice/formulaires/``)
and are hidden from the menu. Administrateur only; every POST carries its CSRF token.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict

from backoffice.agents import acteur
from backoffice.securite import VueAgent
from backoffice.vues.etablissements import date_heure
from extensions import db
from forms import engine
from models.agents import RoleAgent
from workflows import definitions as operations

ROLES = frozenset({RoleAgent.ADMINISTRATEUR})


class Confirmation(FlaskForm):
    """An empty form: its CSRF token protects the publish, discard and restore buttons."""


class VuePublication(VueAgent):
    roles_autorises = ROLES

    def is_visible(self) -> bool:
        return False  # reached from the « Formulaires » pages' tabs

    def _resume(self, form_id: str):
        resume = operations.resume(form_id)
        if resume is None:
            abort(404)
        return resume

    def _editeur(self, form_id: str):
        return redirect(url_for("bo_formulaires.editeur", form_id=form_id), 303)

    @expose("/")
    def index(self):
        # Flask-Admin wants a default view; the editor's list owns this URL (registered first).
        return redirect(url_for("bo_formulaires.index"))

    # -- preview -----------------------------------------------------------------------
    @expose("/<form_id>/apercu", methods=("GET", "POST"))
    def apercu(self, form_id: str):
        resume = self._resume(form_id)
        if resume.brouillon is None:
            flash("Ce formulaire n'a pas de brouillon à prévisualiser.", "warning")
            return self._editeur(form_id)
        try:
            definition = operations.apercu(form_id)
        except operations.DefinitionRefusee as refus:
            flash(_refus(refus.problems), "danger")
            return self._editeur(form_id)
        valide, summary, status = False, None, 200
        if request.method == "POST":
            outcome = engine.submit(
                definition, CombinedMultiDict([request.files, request.form]), stocker=False
            )
            form = outcome.form
            if outcome.action:
                pass  # a repeatable group gained or lost an entry
            elif outcome.valid:
                valide = True
            else:
                summary, status = engine.summary(form), 422
        else:
            form = engine.new_form(definition)
        return render_template(
            "backoffice/formulaires/apercu.html",
            definition=definition,
            form=form,
            summary=summary,
            valide=valide,
            resume=resume,
            action=url_for(".apercu", form_id=form_id),
        ), status

    # -- publication ---------------------------------------------------------------------
    @expose("/<form_id>/publier", methods=("GET", "POST"))
    def publier(self, form_id: str):
        resume = self._resume(form_id)
        if resume.brouillon is None:
            flash("Ce formulaire n'a pas de brouillon à publier.", "warning")
            return self._editeur(form_id)
        confirmation = Confirmation()
        if request.method == "POST" and confirmation.validate_on_submit():
            try:
                version = operations.publier(form_id, acteur(self.agent))
            except operations.DefinitionRefusee:
                db.session.rollback()
                flash("La publication est refusée : corrigez les points signalés.", "danger")
            except operations.OperationImpossible as conflit:
                flash(str(conflit), "warning")
                return redirect(url_for(".versions", form_id=form_id), 303)
            else:
                flash(
                    f"Version {version.version} publiée : le public la voit dans quelques "
                    "secondes.",
                    "success",
                )
                return redirect(url_for(".versions", form_id=form_id), 303)
        elif request.method == "POST":
            abort(400)
        problemes = operations.verifier_publication(form_id)
        changements = [] if problemes else operations.changements(form_id)
        return self.render(
            "backoffice/formulaires/publier.html",
            resume=resume,
            problemes=problemes,
            changements=changements,
            confirmation=confirmation,
        )

    @expose("/<form_id>/abandonner", methods=("POST",))
    def abandonner(self, form_id: str):
        self._resume(form_id)
        if not Confirmation().validate_on_submit():
            abort(400)
        try:
            operations.abandonner_brouillon(form_id, acteur(self.agent))
        except operations.OperationImpossible as exc:
            flash(str(exc), "warning")
        else:
            flash("Le brouillon est abandonné ; la version publiée reste en ligne.", "success")
        if operations.catalogue().get(form_id) is None:
            return redirect(url_for("bo_formulaires.index"), 303)
        return self._editeur(form_id)

    # -- versions ------------------------------------------------------------------------
    @expose("/<form_id>/versions")
    def versions(self, form_id: str):
        resume = self._resume(form_id)
        return self.render(
            "backoffice/formulaires/versions.html",
            resume=resume,
            versions=operations.versions_publiees(form_id),
            servie=operations.catalogue().get(form_id),
            confirmation=Confirmation(),
            date_heure=date_heure,
        )

    @expose("/<form_id>/versions/<int:numero>/restaurer", methods=("POST",))
    def restaurer(self, form_id: str, numero: int):
        self._resume(form_id)
        if not Confirmation().validate_on_submit():
            abort(400)
        try:
            version = operations.restaurer_version(form_id, numero, acteur(self.agent))
        except LookupError:
            abort(404)
        except operations.DefinitionRefusee as refus:
            db.session.rollback()
            flash(_refus(refus.problems), "danger")
        except operations.OperationImpossible as conflit:
            flash(str(conflit), "warning")
        else:
            flash(
                f"La version {numero} est publiée à nouveau, sous le numéro {version.version}.",
                "success",
            )
        return redirect(url_for(".versions", form_id=form_id), 303)


def _refus(problemes) -> str:
    return "Refusé : " + " ; ".join(f"{p.message} ({p.path})" for p in problemes[:10])


def init_admin(admin) -> None:
    admin.add_view(
        VuePublication(
            name="Publication des formulaires",
            endpoint="formulaires_publication",
            url="formulaires",
        )
    )
