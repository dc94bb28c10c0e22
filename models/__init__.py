"""SQLAlchemy models, one module per aggregate. Importing this package registers them all
(Alembic's autogenerate and ``db.create_all`` rely on it)."""

from models.agents import Agent, AgentCodeSecours, AgentDepartement, RoleAgent  # noqa: F401
from models.assistance import AssistanceState, DemandeAssistance  # noqa: F401
from models.audit import AuditEvent  # noqa: F401
from models.brouillon import BrouillonFormulaire  # noqa: F401
from models.comptes import (  # noqa: F401
    DemandeCompte,
    DemandeState,
    Etablissement,
    Habilitation,
    JetonMotDePasse,
    Role,
    Utilisateur,
)
from models.controle import DefiControle  # noqa: F401
from models.formulaires import EtatVersion, FormVersion, OrigineVersion  # noqa: F401
from models.modeles_courriel import EtatModele, ModeleCourrielVersion  # noqa: F401
from models.notification import Notification, NotificationState  # noqa: F401
from models.sirene import SireneEtablissement, SireneImport  # noqa: F401
from models.submission import Submission  # noqa: F401
from models.upload import Upload  # noqa: F401
