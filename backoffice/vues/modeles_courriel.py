"""« Modèles de courriel » (issue #7 item 6): administrators edit the notification mails.

Administrators only (ASP and UD agents get 403): a mail speaks for the whole service.

- **List** (``/backoffice/modeles-courriel/``): every mail of ``mailer.catalogue``, its
  description, its published version (or « Fichiers livrés » when none: the shipped files) and
  its draft.
- **Editor** (``/<modele>/``): subject and body of the draft (else of the current version, else
  the shipped files converted), the fixed list of placeholders of the mail with their
  description and sample (a click inserts one at the cursor), « Enregistrer le brouillon »,
  « Enregistrer et prévisualiser », « Publier », « Abandonner le brouillon », and the history
  of the published versions with « Voir » and « Restaurer ». « Repartir des fichiers livrés »
  loads the shipped text in the editor (nothing is saved until the agent saves).
- **Preview** (``/<modele>/apercu`` for the draft, ``?version=N`` for a published one): the
  subject, the HTML body and the plain-text mail rendered with the sample data. The HTML body
  is built by ``mailer.modeles`` from escaped text: it carries no markup written by a person.

Every POST carries the application's CSRF token; the operations are
``workflows.modeles_courriel`` (journal rows ``enregistrer_brouillon_courriel``,
``publier_modele_courriel``, ``abandonner_brouillon_courriel``, ``restaurer_modele_courriel``
on the object ``modele_courriel``).
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import format_datetime
from markupsafe import Markup

from backoffice.agents import acteur
from backoffice.securite import VueAgent
from extensions import db
from mailer import modeles
from mailer.catalogue import TEMPLATES, variables_de
from models.agents import RoleAgent
from workflows import modeles_courriel as operations

ROLES = frozenset({RoleAgent.ADMINISTRATEUR})
STYLE = re.compile(r' style="[^"<>]*"')
CATEGORIE = "Administration"


def _date(valeur) -> str:
    return format_datetime(valeur, "dd/MM/yyyy HH:mm") if valeur else "—"


def _modele(modele: str) -> str:
    if modele not in TEMPLATES:
        abort(404)
    return modele


class VueModelesCourriel(VueAgent):
    roles_autorises = ROLES

    @expose("/")
    def index(self):
        lignes = []
        for nom, spec in sorted(TEMPLATES.items(), key=lambda item: item[1].description):
            versions = operations.publiees(nom)
            lignes.append(
                {
                    "nom": nom,
                    "description": spec.description,
                    "courante": versions[0] if versions else None,
                    "brouillon": operations.brouillon(nom),
                }
            )
        db.session.commit()  # end the read transaction
        return self.render("backoffice/modeles_courriel/liste.html", lignes=lignes, date=_date)

    def _editeur(self, modele: str, sujet: str, corps: str, origine: str, erreurs=(), code=200):
        contexte = {
            "modele": modele,
            "spec": TEMPLATES[modele],
            "variables": variables_de(modele),
            "filtres": sorted(modeles.FILTRES),
            "sujet": sujet,
            "corps": corps,
            "origine": origine,
            "erreurs": list(erreurs),
            "brouillon": operations.brouillon(modele),
            "versions": operations.publiees(modele),
            "date": _date,
            "max_sujet": modeles.MAX_SUJET,
            "max_corps": modeles.MAX_CORPS,
        }
        db.session.commit()
        return self.render("backoffice/modeles_courriel/editeur.html", **contexte), code

    @expose("/<modele>/")
    def editer(self, modele: str):
        modele = _modele(modele)
        if request.args.get("origine") == "fichiers":
            sujet, corps = modeles.defaut(modele)
            origine = "fichiers"
        else:
            sujet, corps, origine = operations.contenu_a_editer(modele)
        return self._editeur(modele, sujet, corps, origine)

    @expose("/<modele>/brouillon", methods=("POST",))
    def enregistrer(self, modele: str):
        modele = _modele(modele)
        sujet = request.form.get("sujet", "")
        corps = request.form.get("corps", "")
        try:
            operations.enregistrer_brouillon(modele, sujet, corps, acteur(self.agent))
        except operations.ModeleInvalide as exc:
            return self._editeur(modele, sujet, corps, "saisie", exc.messages, 422)
        except operations.OperationImpossible as exc:
            return self._editeur(modele, sujet, corps, "saisie", [str(exc)], 409)
        if request.form.get("suite") == "apercu":
            return redirect(self.get_url(".apercu", modele=modele), 303)
        flash("Brouillon enregistré. Il n'est pas encore utilisé : publiez-le.", "success")
        return redirect(self.get_url(".editer", modele=modele), 303)

    @expose("/<modele>/publier", methods=("POST",))
    def publier(self, modele: str):
        modele = _modele(modele)
        try:
            version = operations.publier_brouillon(modele, acteur(self.agent))
        except operations.ModeleInvalide as exc:
            for message in exc.messages:
                flash(message, "danger")
        except operations.OperationImpossible as exc:
            flash(str(exc), "warning")
        else:
            flash(
                f"Version {version.version} publiée : elle s'applique aux courriels mis en file "
                "à partir de maintenant (ceux déjà en file gardent leur version).",
                "success",
            )
        return redirect(self.get_url(".editer", modele=modele), 303)

    @expose("/<modele>/abandonner", methods=("POST",))
    def abandonner(self, modele: str):
        modele = _modele(modele)
        try:
            operations.abandonner_brouillon(modele, acteur(self.agent))
        except operations.OperationImpossible as exc:
            flash(str(exc), "warning")
        else:
            flash("Brouillon abandonné.", "success")
        return redirect(self.get_url(".editer", modele=modele), 303)

    @expose("/<modele>/versions/<int:numero>/restaurer", methods=("POST",))
    def restaurer(self, modele: str, numero: int):
        modele = _modele(modele)
        try:
            version = operations.restaurer_version(modele, numero, acteur(self.agent))
        except operations.ModeleInvalide as exc:
            for message in exc.messages:
                flash(message, "danger")
        except operations.OperationImpossible as exc:
            flash(str(exc), "warning")
        else:
            flash(
                f"Version {numero} restaurée : publiée à nouveau comme version {version.version}.",
                "success",
            )
        return redirect(self.get_url(".editer", modele=modele), 303)

    @expose("/<modele>/apercu")
    def apercu(self, modele: str):
        modele = _modele(modele)
        numero = request.args.get("version", type=int)
        if numero is not None:
            version = operations.publiee(modele, numero)
            if version is None:
                abort(404)
            titre = f"Version {numero}"
        else:
            version = operations.brouillon(modele)
            titre = "Brouillon"
        if version is not None:
            sujet, corps = version.sujet, version.corps
        else:  # nothing to preview but the shipped files, in their edited form
            sujet, corps = modeles.defaut(modele)
            titre = "Fichiers livrés"
        db.session.commit()
        erreurs: list[str] = []
        rendu = None
        try:
            sujet_rendu, texte, html, fragment = modeles.apercu(modele, sujet, corps)
        except modeles.ModeleInvalide as exc:
            erreurs = exc.messages
        else:
            # The back-office's CSP refuses inline styles: the preview shows the HTML body
            # without them (values are escaped, so only our own style attributes match).
            rendu = (sujet_rendu, texte, html, Markup(STYLE.sub("", str(fragment))))  # noqa: S704
        return self.render(
            "backoffice/modeles_courriel/apercu.html",
            modele=modele,
            spec=TEMPLATES[modele],
            titre=titre,
            rendu=rendu,
            erreurs=erreurs,
            exemple=modeles.exemple(modele),
        )


def init_admin(admin) -> None:
    admin.add_view(
        VueModelesCourriel(
            name="Modèles de courriel",
            endpoint="modeles_courriel",
            url="modeles-courriel",
            category=CATEGORIE,
        )
    )
