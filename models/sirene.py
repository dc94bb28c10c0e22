"""The local copy of the SIRENE directory (establishments) and the progress of its imports."""

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import UtcDateTime, utcnow


class SireneEtablissement(db.Model):
    """One establishment of INSEE's StockEtablissement, as last imported."""

    __tablename__ = "sirene_etablissement"

    siret: Mapped[str] = mapped_column(String(14), primary_key=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    denomination: Mapped[str | None] = mapped_column(String(255))
    enseigne: Mapped[str | None] = mapped_column(String(255))
    numero_voie: Mapped[str | None] = mapped_column(String(10))
    indice_repetition: Mapped[str | None] = mapped_column(String(10))
    type_voie: Mapped[str | None] = mapped_column(String(10))
    libelle_voie: Mapped[str | None] = mapped_column(String(255))
    complement_adresse: Mapped[str | None] = mapped_column(String(255))
    code_postal: Mapped[str | None] = mapped_column(String(5), index=True)
    libelle_commune: Mapped[str | None] = mapped_column(String(255))
    code_commune: Mapped[str | None] = mapped_column(String(5))
    # 'A' actif, 'F' fermé.
    etat_administratif: Mapped[str] = mapped_column(String(1), default="A")
    activite_principale: Mapped[str | None] = mapped_column(String(10))
    date_creation: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    @property
    def actif(self) -> bool:
        return self.etat_administratif == "A"

    def __repr__(self) -> str:
        return f"<SireneEtablissement {self.siret} {self.denomination!r}>"


class SireneImport(db.Model):
    """Progress of the import of one stock file, so that a restarted import resumes."""

    __tablename__ = "sirene_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    # Size, mtime and a hash of the first bytes: the same file, not just the same name.
    fingerprint: Mapped[str] = mapped_column(String(128), unique=True)
    rows_done: Mapped[int] = mapped_column(default=0)
    finished: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        state = "finished" if self.finished else "in progress"
        return f"<SireneImport {self.source} {self.rows_done} rows {state}>"
