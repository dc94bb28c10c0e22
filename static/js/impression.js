// The "Imprimer" button of the contract page: hidden in the HTML (it would do nothing without
// JavaScript, and the page tells how to print from the browser), shown and wired here.
document.querySelectorAll("[data-imprimer]").forEach((button) => {
  const bloc = button.closest("[data-imprimer-bloc]");
  if (bloc) bloc.hidden = false;
  button.addEventListener("click", () => window.print());
});
