// Progressive enhancement of schema-built forms. Without this script every question is shown
// (with "À remplir si ..." hints) and the server decides; with it, conditional questions
// appear only when they apply, and the Ville list follows the postal code.

const forms = document.querySelectorAll("form[data-schema-form]");

function currentValues(form, name) {
  const inputs = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
  const values = [];
  inputs.forEach((input) => {
    if (input.type === "radio" || input.type === "checkbox") {
      if (input.checked) values.push(input.value);
      else if (input.type === "checkbox" && inputs.length === 1) values.push("false");
    } else {
      values.push(input.value);
    }
  });
  return values;
}

function expected(raw) {
  // data-condition-values holds JSON values joined by "|"; booleans are posted as true/false.
  return raw.split("|").map((part) => String(JSON.parse(part)));
}

function refreshConditions(form) {
  form.querySelectorAll("[data-condition-field]").forEach((block) => {
    const values = currentValues(form, block.dataset.conditionField);
    let holds = values.some((value) => expected(block.dataset.conditionValues).includes(value));
    if ("conditionNegate" in block.dataset) holds = !holds;
    block.hidden = !holds;
    block.querySelectorAll("input, select, textarea").forEach((input) => {
      input.disabled = !holds;
    });
  });
}

async function refreshCommunes(form, select) {
  const postal = form.querySelector(`[name="${CSS.escape(select.dataset.communesFrom)}"]`);
  if (!postal) return;
  const code = postal.value.replace(/\s/g, "");
  if (!/^[0-9]{5}$/.test(code)) return;
  const response = await fetch(`/referentiels/communes?code_postal=${code}`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) return;
  const communes = await response.json();
  const previous = select.value;
  select.replaceChildren();
  const placeholder = new Option(communes.length ? "Sélectionnez la ville" : "Code postal inconnu", "");
  select.add(placeholder);
  communes.forEach((commune) => select.add(new Option(commune.nom_usuel, commune.nom)));
  if (communes.length === 1) select.value = communes[0].nom;
  else if (communes.some((commune) => commune.nom === previous)) select.value = previous;
}

forms.forEach((form) => {
  refreshConditions(form);
  form.addEventListener("change", () => refreshConditions(form));
  form.querySelectorAll("select[data-communes-from]").forEach((select) => {
    const postal = form.querySelector(`[name="${CSS.escape(select.dataset.communesFrom)}"]`);
    if (postal) postal.addEventListener("input", () => refreshCommunes(form, select));
  });
});

const summary = document.querySelector("[data-focus-on-load]");
if (summary) summary.focus();
