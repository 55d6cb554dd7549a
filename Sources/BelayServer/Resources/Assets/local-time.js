// The public status page's small script. The page is complete without it: every time is written in UTC
// (also in the element's title) and every day of the history bars is focusable with its detail in the
// HTML. With it, times read in the reader's own zone (UTC stays in the title, on hover), and each bar is
// one stop for the Tab key, its days reached with the arrow keys.
"use strict";

(function () {
  function localTimes() {
    var format;
    try {
      format = new Intl.DateTimeFormat(undefined, {
        day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
      });
    } catch (e) {
      return;
    }
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var element = times[i];
      var stamp = element.getAttribute("datetime");
      // Only full timestamps in UTC; dates alone have no zone to convert.
      if (!/T.*Z$/.test(stamp)) continue;
      var when = new Date(stamp);
      if (isNaN(when.getTime())) continue;
      if (!element.title) element.title = element.textContent;
      element.textContent = format.format(when);
      element.classList.add("local-time");
    }
  }

  // A roving tab stop: today's day holds it; arrows, Home and End move it along the bar.
  function rovingBars() {
    var bars = document.querySelectorAll("ol.days");
    for (var b = 0; b < bars.length; b++) {
      (function (bar) {
        var days = bar.querySelectorAll("li.day");
        if (!days.length) return;
        for (var i = 0; i < days.length; i++) days[i].setAttribute("tabindex", i === days.length - 1 ? "0" : "-1");
        bar.addEventListener("keydown", function (event) {
          var current = Array.prototype.indexOf.call(days, document.activeElement);
          if (current < 0) return;
          var next = current;
          if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = Math.max(0, current - 1);
          else if (event.key === "ArrowRight" || event.key === "ArrowDown") next = Math.min(days.length - 1, current + 1);
          else if (event.key === "Home") next = 0;
          else if (event.key === "End") next = days.length - 1;
          else return;
          event.preventDefault();
          days[current].setAttribute("tabindex", "-1");
          days[next].setAttribute("tabindex", "0");
          days[next].focus();
        });
      })(bars[b]);
    }
  }

  function start() {
    localTimes();
    rovingBars();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
