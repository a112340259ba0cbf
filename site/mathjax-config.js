// Loaded before MathJax 3 and the ipywidgets HTML manager on every page of the website.
// The widget manager typesets widget labels through MathJax 2's API (MathJax.Hub.Queue);
// MathJax 3 has no Hub, and replaces the global MathJax object while it loads. So every
// object that becomes window.MathJax gets a small Hub that hands the call to MathJax 3.
(function () {
  var current;
  function typeset() {
    if (current && typeof current.typesetPromise === "function") {
      current.typesetPromise();
    }
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () {
      return current;
    },
    set: function (value) {
      if (value && typeof value === "object" && !value.Hub) {
        Object.defineProperty(value, "Hub", { value: { Queue: typeset }, enumerable: false });
      }
      current = value;
    },
  });
})();
