/* console.js: the only script of the veille console (no build step, no
 * dependency). On the alerts page it listens to the server-sent events of
 * the current search and puts each new alert at the top of the list. Every
 * text from an event is set with textContent: never parsed as markup. */
(function () {
  'use strict';
  var list = document.getElementById('alerts');
  var live = document.getElementById('live');
  if (!list || !list.dataset.stream || !window.EventSource) {
    return;
  }

  function span(cls, text) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function row(a) {
    var li = document.createElement('li');
    var kind = a.type === 'changed' || a.type === 'new' ? a.type : 'other';
    li.className = 'alert fresh t-' + kind;
    li.dataset.id = String(a.id);
    var t = document.createElement('time');
    t.textContent = a.detected;
    var link = document.createElement('a');
    link.className = 'title';
    link.href = '/alert/' + encodeURIComponent(a.eid);
    link.textContent = a.title || a.url || a.type;
    li.append(t, ' ', span('type', a.type), ' ', link, ' ',
              span('source', a.source), ' ', span('topic', a.topic));
    return li;
  }

  function status(text, cls) {
    if (live) {
      live.textContent = text;
      live.className = 'live ' + cls;
    }
  }

  var es = new EventSource(list.dataset.stream);
  es.addEventListener('open', function () {
    status('live', 'on');
    document.body.dataset.live = '1';
  });
  es.addEventListener('error', function () {
    status('reconnecting', 'off');
  });
  es.addEventListener('alert', function (m) {
    var a;
    try {
      a = JSON.parse(m.data);
    } catch (e) {
      return;
    }
    list.insertBefore(row(a), list.firstChild);
    var empty = document.getElementById('empty');
    if (empty) {
      empty.remove();
    }
  });
}());
