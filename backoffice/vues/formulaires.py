"""« Formulaires »: Administrateurs edit the form definitions without writing JSON (issue #7
item 2).

- The list: every definition with its published version, its draft and its number of
  submissions (``Submission`` rows of the form; account requests and support requests for
  ``demande-creation-compte`` and ``demande-support``), and « Créer un formulaire » (empty or
  a copy of another).
- The draft editor: the outline of sections, groups and questions, each with « Monter »,
  « Descendre », « Retirer », « Déplacer vers » buttons (one POST form each, CSRF token, no
  JavaScript needed); a question form (type, label, help text, placeholder, required, options,
  limits, double entry, read-only, display condition); a section form (label, help text, step,
  number of entries of a repeatable group); the form's own settings; and the « Avancé » tab,
  the draft's JSON Schema in a textarea, checked on save.
- Every change goes through ``forms.editeur`` (pure operations on the schema) and is saved by
  ``workflows.definitions.enregistrer_brouillon``, which checks the result (metaschema, our
  vocabulary, the safety gate) and refuses it with the problems listed. Each form carries the
  fingerprint of the draft it was made from: a post against a draft changed in between (by
  another administrator, in another tab) is refused rather than undoing that change.
- Preview, publication, discarding a draft and the versions are
  ``backoffice.vues.formulaires_publication`` (endpoint ``formulaires_publication``).

Administrateur only: the other roles get 403 on every URL of the view.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from sqlalchemy import func, literal_column, select
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from backoffice.agents import acteur
from backoffice.securite import VueAgent
from backoffice.vues.assistance import FORM_ID as FORM_ID_ASSISTANCE
from backoffice.vues.demandes import PLAFOND_COMPTE
from extensions import db
from forms import editeur, garde, vocabulary
from forms.editeur import EditionRefusee
from models.agents import RoleAgent
from models.assistance import DemandeAssistance
from models.comptes import DemandeCompte
from models.submission import Submission
from workflows import definitions as operations
from workflows.comptes import FORM_ID as FORM_ID_COMPTE

ROLES = frozenset({RoleAgent.ADMINISTRATEUR})
CHEMIN = re.compile(r"[a-z0-9_.]+")  # the paths of the outline: property names and dots
FORM_ID = r"[a-z0-9]+(-[a-z0-9]+)*\Z"
MAX_FORM_ID = 60
CONDITION_AVANCEE = "__avancee__"
RECHARGEZ = (
    "Le brouillon a été modifié entre-temps (par vous dans un autre onglet, ou par un autre "
    "administrateur) : rien n'a été enregistré. Voici son état actuel."
)


def _choix(paires) -> list[SelectChoice]:
    return [SelectChoice(valeur, libelle) for valeur, libelle in paires]


# --- forms ---------------------------------------------------------------------------------------


class CasesACocher(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NouveauFormulaireForm(FlaskForm):
    identifiant = StringField(
        "Identifiant",
        description=(
            "Minuscules, chiffres et tirets, par exemple « inscription-atelier » : il forme "
            "l'adresse du formulaire (/formulaires/identifiant) et ne change plus."
        ),
        validators=[
            InputRequired("Saisissez l'identifiant du formulaire."),
            Length(max=MAX_FORM_ID, message=f"L'identifiant compte au plus {MAX_FORM_ID} signes."),
            Regexp(FORM_ID, message="Utilisez des minuscules, des chiffres et des tirets."),
        ],
    )
    titre = StringField(
        "Titre",
        validators=[
            InputRequired("Saisissez le titre du formulaire."),
            Length(max=editeur.MAX_LABEL, message="Le titre est trop long."),
        ],
    )
    copie_de = SelectField("Point de départ", choices=[], validate_choice=False)

    def __init__(self, *args, modeles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.copie_de.choices = _choix(
            [("", "Un formulaire vide")]
            + [(form_id, f"Une copie de « {titre} » ({form_id})") for form_id, titre in modeles]
        )


class QuestionForm(FlaskForm):
    empreinte = HiddenField()
    libelle = StringField(
        "Libellé de la question",
        validators=[InputRequired("Saisissez le libellé de la question.")],
    )
    type = SelectField(
        "Type de réponse", choices=_choix(editeur.TYPES.items()), validate_choice=False
    )
    aide = TextAreaField(
        "Texte d'aide", description="Affiché sous le libellé, pour guider la personne."
    )
    placeholder = StringField(
        "Exemple dans le champ",
        description="Texte grisé affiché dans le champ vide (par exemple « 01 23 45 67 89 »).",
    )
    obligatoire = BooleanField("Réponse obligatoire")
    options = TextAreaField(
        "Options",
        description=(
            "Pour les choix : une option par ligne. La valeur enregistrée est tirée du libellé ; "
            "écrivez « valeur | libellé » pour la fixer vous-même."
        ),
        render_kw={"rows": 6},
    )
    longueur_min = StringField("Longueur minimale (caractères)", render_kw={"inputmode": "numeric"})
    longueur_max = StringField("Longueur maximale (caractères)", render_kw={"inputmode": "numeric"})
    minimum = StringField("Valeur minimale", render_kw={"inputmode": "decimal"})
    maximum = StringField("Valeur maximale", render_kw={"inputmode": "decimal"})
    entier = BooleanField("Nombres entiers uniquement")
    double_saisie = StringField(
        "Double saisie : libellé du champ de confirmation",
        description="Par exemple « Confirmez le courriel ». Laissez vide pour une saisie unique.",
    )
    lecture_seule = BooleanField(
        "Lecture seule (la valeur est fournie par le service, la personne ne la modifie pas)"
    )
    condition = SelectField("Afficher cette question", choices=[], validate_choice=False)
    fichier_types = CasesACocher(
        "Types de fichiers acceptés",
        choices=_choix(vocabulary.FILE_TYPES.items()),
        validate_choice=False,
    )
    fichier_max_mo = StringField(
        "Taille maximale du fichier (Mo)", render_kw={"inputmode": "numeric"}
    )


class SectionForm(FlaskForm):
    empreinte = HiddenField()
    libelle = StringField(
        "Titre de la section", validators=[InputRequired("Saisissez le titre de la section.")]
    )
    aide = TextAreaField("Texte d'introduction")
    repetable = BooleanField(
        "Groupe répétable (la personne ajoute autant d'entrées que nécessaire, "
        "par exemple une par salarié)"
    )
    etape = BooleanField("Étape : le formulaire public présente cette section sur une page à elle")
    min_entrees = StringField("Nombre minimal d'entrées", render_kw={"inputmode": "numeric"})
    max_entrees = StringField("Nombre maximal d'entrées", render_kw={"inputmode": "numeric"})


class ReglagesForm(FlaskForm):
    empreinte = HiddenField()
    titre = StringField("Titre", validators=[InputRequired("Saisissez le titre du formulaire.")])
    description = TextAreaField("Introduction", description="Affichée en tête du formulaire.")
    autonome = BooleanField(
        "Formulaire autonome : publié à l'adresse /formulaires/<identifiant>, ses envois "
        "arrivent dans « Soumissions »"
    )
    bouton = StringField("Libellé du bouton d'envoi", description="Par défaut « Envoyer ».")
    confirmation = TextAreaField("Message affiché après l'envoi")


class AvanceForm(FlaskForm):
    empreinte = HiddenField()
    schema = TextAreaField(
        "Schéma JSON du brouillon", render_kw={"rows": 30, "spellcheck": "false"}
    )


# --- helpers -------------------------------------------------------------------------------------


def _entier(field, minimum: int = 0) -> int | None:
    texte = (field.data or "").strip()
    if not texte:
        return None
    try:
        valeur = int(texte)
    except ValueError:
        field.errors = [*field.errors, "Saisissez un nombre entier."]
        return None
    if valeur < minimum:
        field.errors = [*field.errors, f"Saisissez un nombre supérieur ou égal à {minimum}."]
        return None
    return valeur


def _nombre(field) -> float | int | None:
    texte = (field.data or "").strip().replace(",", ".").replace(" ", "")
    if not texte:
        return None
    try:
        valeur = float(texte)
    except ValueError:
        field.errors = [*field.errors, "Saisissez un nombre (par exemple 12 ou 3,5)."]
        return None
    if valeur != valeur or valeur in (float("inf"), float("-inf")):
        field.errors = [*field.errors, "Saisissez un nombre fini."]
        return None
    return int(valeur) if valeur.is_integer() else valeur


def _texte_nombre(valeur) -> str:
    if valeur is None:
        return ""
    if isinstance(valeur, float) and valeur.is_integer():
        valeur = int(valeur)
    return str(valeur).replace(".", ",")


def _valeur_json(valeur) -> str:
    return json.dumps(valeur, ensure_ascii=False)


def choix_conditions(sources) -> list[tuple[str, str]]:
    """« quand « X » vaut « Y » » for every (sibling, value) a condition may test."""
    choix = [("", "Toujours (sans condition)")]
    for nom, libelle, options in sources:
        for valeur, titre in options:
            cle = f"{nom}={_valeur_json(valeur)}"
            choix.append((cle, f"Quand « {libelle} » vaut « {titre} » (et la rendre obligatoire)"))
    return choix


def lire_condition(cle: str):
    if not cle or cle == CONDITION_AVANCEE:
        return None
    nom, _, valeur = cle.partition("=")
    try:
        return nom, json.loads(valeur)
    except ValueError:
        return None


def textes_conditions(elements) -> dict[str, str]:
    """« Affichée et obligatoire si « X » vaut « Y » » for every conditional element."""
    textes: dict[str, str] = {}
    freres = {element.nom: element for element in elements}
    for element in elements:
        condition = element.condition
        if condition is not None:
            source = freres.get(condition.source)
            libelle = source.libelle if source is not None else condition.source
            libelles = dict(
                (_valeur_json(v), t) for v, t in (source.options if source is not None else [])
            )
            valeurs = " ou ".join(
                f"« {libelles.get(_valeur_json(v), v)} »" for v in condition.valeurs
            )
            verbe = "ne vaut pas" if condition.negation else "vaut"
            textes[element.chemin] = f"Affichée si « {libelle} » {verbe} {valeurs}"
        textes.update(textes_conditions(element.enfants))
    return textes


def cibles_deplacement(schema: dict) -> dict[str, list]:
    """For each element, the sections and groups it may be moved into (not its own, not
    itself nor one of its own subsections)."""
    conteneurs = editeur.containers(schema)
    cibles = {}
    for element in editeur.flatten(editeur.elements(schema)):
        cibles[element.chemin] = [
            c
            for c in conteneurs
            if c.chemin != element.parent
            and c.chemin != element.chemin
            and not c.chemin.startswith(element.chemin + ".")
        ]
    return cibles


@dataclass
class Ligne:
    """One definition in the list."""

    resume: object
    soumissions: int

    @property
    def libelle_soumissions(self) -> str:
        """« 1 234 » or « plus de 10 000 » (the counts stop there)."""
        if self.soumissions > PLAFOND_COMPTE:
            return "plus de " + f"{PLAFOND_COMPTE:,}".replace(",", "\u202f")
        return f"{self.soumissions:,}".replace(",", "\u202f")


# Account and support requests are filed by one form each, in tables without a form_id index:
# only that form's rows are counted there (other forms would read the whole table for none).
FORMULAIRE_DES_TABLES = (
    (DemandeCompte, FORM_ID_COMPTE),
    (DemandeAssistance, FORM_ID_ASSISTANCE),
)


def comptes_soumissions(form_ids) -> dict[str, int]:
    """Submissions per form id (standalone submissions, account and support requests), each
    table counted up to ``PLAFOND_COMPTE`` + 1 rows per form: a bounded cost at any volume
    (standalone submissions through ``ix_submission_form_created``)."""
    comptes = {form_id: _compte_plafonne(Submission, form_id) for form_id in form_ids}
    for modele, form_id in FORMULAIRE_DES_TABLES:
        if form_id in comptes:
            comptes[form_id] += _compte_plafonne(modele, form_id)
    return comptes


def _compte_plafonne(modele, form_id: str) -> int:
    premieres = (
        select(literal_column("1"))
        .select_from(modele)
        .where(modele.form_id == form_id)
        .limit(PLAFOND_COMPTE + 1)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(premieres))


# --- the view ------------------------------------------------------------------------------------


class VueFormulaires(VueAgent):
    roles_autorises = ROLES
    extra_js: ClassVar[list[str]] = []

    def _resumes(self) -> dict:
        return {resume.form_id: resume for resume in operations.definitions()}

    def _resume_ou_404(self, form_id: str):
        resume = operations.resume(form_id)
        if resume is None:
            abort(404)
        return resume

    def _brouillon_ou_retour(self, form_id: str):
        """The draft of ``form_id``; None (after a flash) when there is none."""
        brouillon = self._resume_ou_404(form_id).brouillon
        if brouillon is None:
            flash("Ce formulaire n'a pas de brouillon : ouvrez-en un pour le modifier.", "warning")
        return brouillon

    def _editeur(self, form_id: str, ancre: str | None = None):
        url = self.get_url(".editeur", form_id=form_id)
        return redirect(url + (f"#{ancre}" if ancre else ""), 303)

    def _enregistrer(self, form_id: str, schema: dict) -> list[vocabulary.Problem]:
        """Save the draft; the problems of a refused definition (nothing saved then)."""
        try:
            operations.enregistrer_brouillon(form_id, schema, acteur(self.agent))
        except operations.DefinitionRefusee as refus:
            db.session.rollback()
            return list(refus.problems)
        except operations.OperationImpossible as conflit:
            return [vocabulary.Problem("$", str(conflit))]
        return []

    def _a_jour(self, brouillon, empreinte: str | None) -> bool:
        return empreinte == editeur.fingerprint(brouillon.schema)

    # --- the list -------------------------------------------------------------------------

    @expose("/")
    def index(self):
        resumes = sorted(operations.definitions(), key=lambda r: r.form_id)
        comptes = comptes_soumissions([resume.form_id for resume in resumes])
        lignes = [Ligne(resume, comptes[resume.form_id]) for resume in resumes]
        return self.render("backoffice/formulaires/liste.html", lignes=lignes)

    @expose("/nouveau", methods=("GET", "POST"))
    def nouveau(self):
        resumes = self._resumes()
        modeles = sorted((r.form_id, r.title) for r in resumes.values())
        form = NouveauFormulaireForm(modeles=modeles)
        if request.method == "GET" and request.args.get("copie_de") in resumes:
            form.copie_de.data = request.args["copie_de"]
        if form.validate_on_submit():
            form_id = form.identifiant.data.strip()
            copie_de = form.copie_de.data or None
            if form_id in resumes:
                form.identifiant.errors = [
                    *form.identifiant.errors,
                    "Cet identifiant est déjà celui d'un formulaire.",
                ]
            elif copie_de is not None and copie_de not in resumes:
                form.copie_de.errors = [*form.copie_de.errors, "Formulaire inconnu."]
            else:
                try:
                    operations.creer_definition(
                        form_id, form.titre.data.strip(), acteur(self.agent), copie_de=copie_de
                    )
                except operations.OperationImpossible as conflit:
                    form.identifiant.errors = [*form.identifiant.errors, str(conflit)]
                except operations.DefinitionRefusee as refus:
                    db.session.rollback()
                    for probleme in refus.problems:
                        cible = {"$.$id": form.identifiant, "$.title": form.titre}.get(
                            probleme.path
                        )
                        if cible is not None:
                            cible.errors = [*cible.errors, _phrase(probleme.message)]
                        else:
                            form.form_errors = [*form.form_errors, str(probleme)]
                except LookupError:
                    db.session.rollback()
                    form.copie_de.errors = [*form.copie_de.errors, "Formulaire inconnu."]
                else:
                    if copie_de is not None:
                        self._figer_ordre(form_id, copie_de)
                    flash(
                        f"Formulaire « {form.titre.data.strip()} » créé en brouillon : ajoutez "
                        "ses questions, puis publiez-le.",
                        "success",
                    )
                    return self._editeur(form_id)
        statut = 422 if request.method == "POST" else 200
        return self.render("backoffice/formulaires/nouveau.html", form=form), statut

    # --- the editor -----------------------------------------------------------------------

    @expose("/<form_id>/")
    def editeur(self, form_id: str):
        resume = self._resume_ou_404(form_id)
        brouillon = operations.brouillon(form_id)
        schema = brouillon.schema if brouillon is not None else _schema_publie(form_id)
        elements = editeur.elements(schema)
        return self.render(
            "backoffice/formulaires/editeur.html",
            resume=resume,
            brouillon=brouillon,
            elements=elements,
            conditions=textes_conditions(elements),
            cibles_deplacement=cibles_deplacement(schema) if brouillon is not None else {},
            empreinte=editeur.fingerprint(schema) if brouillon is not None else "",
            reglages=editeur.form_settings(schema),
            onglet="plan",
        )

    @expose("/<form_id>/ouvrir", methods=("POST",))
    def ouvrir(self, form_id: str):
        self._resume_ou_404(form_id)
        existant = operations.brouillon(form_id)
        try:
            operations.ouvrir_brouillon(form_id, acteur(self.agent))
        except operations.OperationImpossible as conflit:
            flash(str(conflit), "warning")
            return self._editeur(form_id)
        if existant is None:
            self._figer_ordre(form_id, form_id)
        return self._editeur(form_id)

    def _figer_ordre(self, form_id: str, modele: str) -> None:
        """Write the order of the questions of a new draft into it (``x-ui.order``), as the
        served version ``modele`` has it: the database may keep no key order (JSONB)."""
        brouillon = operations.brouillon(form_id)
        reference = _schema_publie(modele)
        if brouillon is None or not reference:
            return
        fige = editeur.pin_order(brouillon.schema, reference)
        if fige != brouillon.schema:
            self._enregistrer(form_id, fige)

    def _action(self, form_id: str, operation):
        """An outline button: ``operation(schema, chemin)`` gives the new schema, the element
        to scroll to and the message of success; the draft is saved with it."""
        brouillon = self._brouillon_ou_retour(form_id)
        if brouillon is None:
            return self._editeur(form_id)
        if not self._a_jour(brouillon, request.form.get("empreinte")):
            flash(RECHARGEZ, "warning")
            return self._editeur(form_id)
        chemin = request.form.get("chemin", "")
        try:
            schema, chemin, message = operation(brouillon.schema, chemin)
        except EditionRefusee as refus:
            flash(str(refus), "danger")
            return self._editeur(form_id, _ancre(chemin))
        problemes = self._enregistrer(form_id, schema)
        if problemes:
            flash(_refus(problemes), "danger")
        elif message:
            flash(message, "success")
        return self._editeur(form_id, _ancre(chemin))

    @expose("/<form_id>/monter", methods=("POST",))
    def monter(self, form_id: str):
        return self._action(form_id, lambda s, c: (editeur.move(s, c, -1), c, ""))

    @expose("/<form_id>/descendre", methods=("POST",))
    def descendre(self, form_id: str):
        return self._action(form_id, lambda s, c: (editeur.move(s, c, +1), c, ""))

    @expose("/<form_id>/retirer", methods=("POST",))
    def retirer(self, form_id: str):
        def retirer(schema, chemin):
            libelle = editeur.element(schema, chemin).libelle
            message = f"« {libelle} » retiré du brouillon."
            return editeur.remove(schema, chemin), chemin.rpartition(".")[0], message

        return self._action(form_id, retirer)

    @expose("/<form_id>/deplacer", methods=("POST",))
    def deplacer(self, form_id: str):
        conteneur = request.form.get("conteneur", "")

        def deplacer(schema, chemin):
            libelle = editeur.element(schema, chemin).libelle
            nouveau_schema, nouveau = editeur.move_into(schema, chemin, conteneur)
            vers = _libelle_conteneur(schema, conteneur)
            return nouveau_schema, nouveau, f"« {libelle} » déplacé vers {vers}."

        return self._action(form_id, deplacer)

    # --- questions -------------------------------------------------------------------------

    def _page_question(self, form_id, brouillon, form, *, chemin=None, conteneur="", statut=200):
        resume = self._resume_ou_404(form_id)
        return (
            self.render(
                "backoffice/formulaires/question.html",
                resume=resume,
                brouillon=brouillon,
                form=form,
                chemin=chemin,
                conteneur=conteneur,
                element=editeur.element(brouillon.schema, chemin) if chemin else None,
                libelle_conteneur=_libelle_conteneur(brouillon.schema, conteneur),
                onglet="plan",
            ),
            statut,
        )

    def _preparer_question(self, form: QuestionForm, schema: dict, sources, actuel: str | None):
        form.condition.choices = _choix(choix_conditions(sources))
        if actuel == editeur.OTHER:
            form.type.choices = [
                *form.type.choices,
                SelectChoice(editeur.OTHER, editeur.OTHER_LABEL),
            ]

    def _appliquer(self, form_id, brouillon, form, page, lire_reglages, modifier, message):
        """The POST of a question or section page: the form's checks, the draft still the one
        the page was made from, the change (``modifier(reglages)`` gives the new schema and
        the element's path), then the save; on any refusal the page again, with what was
        typed, its messages and ``page(statut)``'s status."""
        if not form.validate():
            return page(422)
        if not self._a_jour(brouillon, form.empreinte.data):
            form.form_errors = [RECHARGEZ]
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
            return page(409)
        reglages = lire_reglages()
        if reglages is None:
            return page(422)
        try:
            schema, chemin = modifier(reglages)
        except EditionRefusee as refus:
            form.form_errors = [str(refus)]
            return page(422)
        problemes = self._enregistrer(form_id, schema)
        if problemes:
            form.form_errors = [_refus(problemes), *(str(p) for p in problemes)]
            return page(422)
        flash(message.format(reglages.libelle.strip()), "success")
        return self._editeur(form_id, _ancre(chemin))

    def _reglages_question(self, form: QuestionForm) -> editeur.Question | None:
        """The settings typed in ``form``; None when a field has an error (shown next to it)."""
        permis = set(editeur.TYPES) | {choix.value for choix in form.type.choices}
        if form.type.data not in permis:
            form.type.errors = [*form.type.errors, "Choisissez un type de réponse."]
            return None
        reglages = editeur.Question(
            libelle=form.libelle.data or "",
            type=form.type.data,
            aide=form.aide.data or "",
            placeholder=form.placeholder.data or "",
            obligatoire=bool(form.obligatoire.data),
            options=editeur.parse_options(form.options.data or "")
            if form.type.data in editeur.WITH_OPTIONS
            else [],
            longueur_min=_entier(form.longueur_min),
            longueur_max=_entier(form.longueur_max, 1),
            minimum=_nombre(form.minimum),
            maximum=_nombre(form.maximum),
            entier=bool(form.entier.data),
            double_saisie=form.double_saisie.data or "",
            lecture_seule=bool(form.lecture_seule.data),
            condition=lire_condition(form.condition.data),
            garder_condition=form.condition.data == CONDITION_AVANCEE,
            fichier_types=list(form.fichier_types.data or []),
            fichier_max_mo=_entier(form.fichier_max_mo, 1),
        )
        if any(field.errors for field in form):
            return None
        return reglages

    @expose("/<form_id>/questions/nouvelle", methods=("GET", "POST"))
    def nouvelle_question(self, form_id: str):
        brouillon = self._brouillon_ou_retour(form_id)
        if brouillon is None:
            return self._editeur(form_id)
        conteneur = request.values.get("conteneur", "")
        try:
            sources = editeur.condition_sources_in(brouillon.schema, conteneur)
        except EditionRefusee as refus:
            flash(str(refus), "danger")
            return self._editeur(form_id)
        form = QuestionForm()
        self._preparer_question(form, brouillon.schema, sources, None)
        if request.method == "GET":
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
            form.type.data = "texte"
            form.fichier_types.data = list(editeur.DEFAULT_FILE_TYPES)
            form.fichier_max_mo.data = str(editeur.DEFAULT_FILE_MB)
            return self._page_question(form_id, brouillon, form, conteneur=conteneur)
        return self._appliquer(
            form_id,
            brouillon,
            form,
            lambda statut: self._page_question(
                form_id, brouillon, form, conteneur=conteneur, statut=statut
            ),
            lambda: self._reglages_question(form),
            lambda reglages: editeur.add_question(brouillon.schema, conteneur, reglages),
            "Question « {} » ajoutée au brouillon.",
        )

    @expose("/<form_id>/question", methods=("GET", "POST"))
    def question(self, form_id: str):
        brouillon = self._brouillon_ou_retour(form_id)
        if brouillon is None:
            return self._editeur(form_id)
        chemin = request.values.get("chemin", "")
        try:
            actuel = editeur.question(brouillon.schema, chemin)
            sources = editeur.condition_sources(brouillon.schema, chemin)
        except EditionRefusee as refus:
            flash(str(refus), "danger")
            return self._editeur(form_id)
        form = QuestionForm()
        self._preparer_question(form, brouillon.schema, sources, actuel.type)
        if actuel.garder_condition:
            form.condition.choices.insert(
                1,
                SelectChoice(
                    CONDITION_AVANCEE, "Selon une condition avancée (inchangée ; voir « Avancé »)"
                ),
            )
        if request.method == "GET":
            _remplir_question(form, actuel)
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
            return self._page_question(form_id, brouillon, form, chemin=chemin)
        return self._appliquer(
            form_id,
            brouillon,
            form,
            lambda statut: self._page_question(
                form_id, brouillon, form, chemin=chemin, statut=statut
            ),
            lambda: self._reglages_question(form),
            lambda reglages: (editeur.update_question(brouillon.schema, chemin, reglages), chemin),
            "Question « {} » enregistrée.",
        )

    # --- sections --------------------------------------------------------------------------

    def _page_section(self, form_id, brouillon, form, *, chemin=None, conteneur="", statut=200):
        return (
            self.render(
                "backoffice/formulaires/section.html",
                resume=self._resume_ou_404(form_id),
                brouillon=brouillon,
                form=form,
                chemin=chemin,
                conteneur=conteneur,
                element=editeur.element(brouillon.schema, chemin) if chemin else None,
                libelle_conteneur=_libelle_conteneur(brouillon.schema, conteneur),
                onglet="plan",
            ),
            statut,
        )

    def _reglages_section(self, form: SectionForm, repetable: bool) -> editeur.Section | None:
        reglages = editeur.Section(
            libelle=form.libelle.data or "",
            aide=form.aide.data or "",
            etape=bool(form.etape.data),
            repetable=repetable,
            min_entrees=_entier(form.min_entrees) or 0,
            max_entrees=_entier(form.max_entrees, 1),
        )
        return None if any(field.errors for field in form) else reglages

    @expose("/<form_id>/sections/nouvelle", methods=("GET", "POST"))
    def nouvelle_section(self, form_id: str):
        brouillon = self._brouillon_ou_retour(form_id)
        if brouillon is None:
            return self._editeur(form_id)
        conteneur = request.values.get("conteneur", "")
        form = SectionForm()
        if request.method == "GET":
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
            return self._page_section(form_id, brouillon, form, conteneur=conteneur)
        return self._appliquer(
            form_id,
            brouillon,
            form,
            lambda statut: self._page_section(
                form_id, brouillon, form, conteneur=conteneur, statut=statut
            ),
            lambda: self._reglages_section(form, bool(form.repetable.data)),
            lambda reglages: editeur.add_section(brouillon.schema, conteneur, reglages),
            "Section « {} » ajoutée au brouillon.",
        )

    @expose("/<form_id>/section", methods=("GET", "POST"))
    def section(self, form_id: str):
        brouillon = self._brouillon_ou_retour(form_id)
        if brouillon is None:
            return self._editeur(form_id)
        chemin = request.values.get("chemin", "")
        try:
            element = editeur.element(brouillon.schema, chemin)
        except EditionRefusee as refus:
            flash(str(refus), "danger")
            return self._editeur(form_id)
        if not element.est_conteneur:
            return redirect(self.get_url(".question", form_id=form_id, chemin=chemin), 303)
        form = SectionForm()
        if request.method == "GET":
            form.libelle.data = element.libelle
            form.aide.data = element.aide
            form.etape.data = element.etape
            form.min_entrees.data = str(element.min_entrees or "")
            form.max_entrees.data = str(element.max_entrees or "")
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
            return self._page_section(form_id, brouillon, form, chemin=chemin)
        return self._appliquer(
            form_id,
            brouillon,
            form,
            lambda statut: self._page_section(
                form_id, brouillon, form, chemin=chemin, statut=statut
            ),
            lambda: self._reglages_section(form, element.genre == "groupe"),
            lambda reglages: (editeur.update_section(brouillon.schema, chemin, reglages), chemin),
            "Section « {} » enregistrée.",
        )

    # --- the form's settings -----------------------------------------------------------------

    @expose("/<form_id>/reglages", methods=("GET", "POST"))
    def reglages(self, form_id: str):
        brouillon = self._brouillon_ou_retour(form_id)
        if brouillon is None:
            return self._editeur(form_id)
        resume = self._resume_ou_404(form_id)
        form = ReglagesForm()
        statut = 200
        if request.method == "GET":
            actuels = editeur.form_settings(brouillon.schema)
            for nom in ("titre", "description", "autonome", "bouton", "confirmation"):
                getattr(form, nom).data = getattr(actuels, nom)
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
        elif form.validate():
            if not self._a_jour(brouillon, form.empreinte.data):
                form.form_errors = [RECHARGEZ]
                form.empreinte.data = editeur.fingerprint(brouillon.schema)
                statut = 409
            else:
                reglages = editeur.Reglages(
                    titre=form.titre.data or "",
                    description=form.description.data or "",
                    autonome=bool(form.autonome.data),
                    bouton=form.bouton.data or "",
                    confirmation=form.confirmation.data or "",
                )
                try:
                    schema = editeur.update_form(brouillon.schema, reglages)
                except EditionRefusee as refus:
                    form.form_errors = [str(refus)]
                    statut = 422
                else:
                    problemes = self._enregistrer(form_id, schema)
                    if not problemes:
                        flash("Réglages du formulaire enregistrés.", "success")
                        return self._editeur(form_id)
                    form.form_errors = [_refus(problemes), *(str(p) for p in problemes)]
                    statut = 422
        else:
            statut = 422
        return self.render(
            "backoffice/formulaires/reglages.html",
            resume=resume,
            brouillon=brouillon,
            form=form,
            onglet="reglages",
        ), statut

    # --- « Avancé » ----------------------------------------------------------------------------

    @expose("/<form_id>/avance", methods=("GET", "POST"))
    def avance(self, form_id: str):
        resume = self._resume_ou_404(form_id)
        brouillon = operations.brouillon(form_id)
        form = AvanceForm()
        problemes: list[vocabulary.Problem] = []
        statut = 200
        if brouillon is None:
            if request.method == "POST":
                flash("Ce formulaire n'a pas de brouillon : ouvrez-en un pour le modifier.")
                return self._editeur(form_id)
        elif request.method == "GET":
            form.schema.data = _json(brouillon.schema)
            form.empreinte.data = editeur.fingerprint(brouillon.schema)
        elif form.validate():
            if not self._a_jour(brouillon, form.empreinte.data):
                form.form_errors = [RECHARGEZ + " Votre texte est conservé ci-dessous."]
                form.empreinte.data = editeur.fingerprint(brouillon.schema)
                statut = 409
            else:
                try:
                    schema = garde.lire(form.schema.data or "")
                except garde.DefinitionIllisible as refus:
                    problemes = [refus.problem]
                else:
                    problemes = editeur.check_bindings(brouillon.schema, schema)
                    if not problemes:
                        problemes = self._enregistrer(form_id, schema)
                if not problemes:
                    flash("Schéma du brouillon enregistré.", "success")
                    return redirect(self.get_url(".avance", form_id=form_id), 303)
                statut = 422
        else:
            statut = 422
        return self.render(
            "backoffice/formulaires/avance.html",
            resume=resume,
            brouillon=brouillon,
            form=form,
            problemes=problemes,
            publie=None if brouillon is not None else _json(_schema_publie(form_id)),
            onglet="avance",
        ), statut


def _schema_publie(form_id: str) -> dict:
    from flask import current_app

    definition = current_app.extensions["forms"].get(form_id)
    return definition.schema if definition is not None else {}


def _json(schema: dict) -> str:
    return json.dumps(editeur.readable(schema), ensure_ascii=False, indent=2)


def _ancre(chemin: str) -> str | None:
    """The editor's anchor of ``chemin``; None for a path no element can have (posted values
    are copied into the redirect's Location header)."""
    if not chemin or not CHEMIN.fullmatch(chemin):
        return None
    return "el-" + chemin.replace(".", "-")


def _phrase(message: str) -> str:
    message = message.strip()
    return (
        (message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
        if message
        else message
    )


def _refus(problemes) -> str:
    nombre = len(problemes)
    return (
        "Modification refusée : le formulaire ne serait plus valide "
        f"({nombre} problème{'s' if nombre > 1 else ''}) ; rien n'a été enregistré."
    )


def _libelle_conteneur(schema: dict, conteneur: str) -> str:
    if not conteneur:
        return "le formulaire"
    try:
        return f"« {editeur.element(schema, conteneur).libelle} »"
    except EditionRefusee:
        return conteneur


def _remplir_question(form: QuestionForm, actuel: editeur.Question) -> None:
    form.libelle.data = actuel.libelle
    form.type.data = actuel.type
    form.aide.data = actuel.aide
    form.placeholder.data = actuel.placeholder
    form.obligatoire.data = actuel.obligatoire
    form.options.data = editeur.format_options(actuel.options)
    form.longueur_min.data = _texte_nombre(actuel.longueur_min)
    form.longueur_max.data = _texte_nombre(actuel.longueur_max)
    form.minimum.data = _texte_nombre(actuel.minimum)
    form.maximum.data = _texte_nombre(actuel.maximum)
    form.entier.data = actuel.entier
    form.double_saisie.data = actuel.double_saisie
    form.lecture_seule.data = actuel.lecture_seule
    if actuel.garder_condition:
        form.condition.data = CONDITION_AVANCEE
    elif actuel.condition is not None:
        nom, valeur = actuel.condition
        form.condition.data = f"{nom}={_valeur_json(valeur)}"
    else:
        form.condition.data = ""
    form.fichier_types.data = list(actuel.fichier_types)
    form.fichier_max_mo.data = _texte_nombre(actuel.fichier_max_mo)


def init_admin(admin) -> None:
    admin.add_view(VueFormulaires(name="Formulaires", endpoint="bo_formulaires", url="formulaires"))


def url_editeur(form_id: str) -> str:
    return url_for("bo_formulaires.editeur", form_id=form_id)
