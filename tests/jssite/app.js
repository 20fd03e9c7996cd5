document.getElementById("root").innerHTML =
  '<article><h1>Single-page review</h1><p>Cordless drills have come a long way. We tested twelve models over three months on real job sites, timing how long each battery lasted, how much torque each delivered and how the chucks held up under load. The results surprised us: price was a poor guide to quality.</p>' +
  '<p>Our pick: <a href="$money/product/">Acme cordless drill</a>.</p></article>';
