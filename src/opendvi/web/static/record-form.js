// A record's form: "Add another contact" adds a numbered block of fields for one more
// reporting contact (contact_name_2, ...), as the form's own blocks are written.
(function () {
  var button = document.getElementById("add-contact");
  var template = document.getElementById("contact-template");
  var list = document.getElementById("contacts");
  if (!button || !template || !list) return;
  var max = parseInt(button.getAttribute("data-max"), 10) || 10;
  function count() { return list.querySelectorAll("fieldset.contact").length; }
  button.hidden = count() >= max;
  button.addEventListener("click", function () {
    var n = count() + 1;
    if (n > max) return;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__N__/g, String(n));
    var block = holder.firstElementChild;
    list.appendChild(block);
    var first = block.querySelector("input, select, textarea");
    if (first) first.focus();
    button.hidden = n >= max;
  });
})();
