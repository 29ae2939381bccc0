# tools/demo/clock.gp — guest − host offset after one live migration, per arm
# (gnuplot -e "dat='clock.dat'; png='clock.png'; arms='migclock none …'" clock.gp).
# clock.dat comes from `migclock-timeprobe report`: one block per arm, in the
# order of `arms` (demo.sh reads it from the blocks' "# ARM migration N" lines).
set terminal pngcairo size 1100,800 font "DejaVu Sans,10"
set output png
set multiplot layout 2,1 title "Guest − host wall-clock offset after a live migration (TCG guest, two libvirt daemons), judged through the time-probe port"
set grid
set key bottom right
set xlabel "ms since the guest resumed (its first time-probe answer after the pause)"
set ylabel "guest − host (ms)"
n = words(arms)
label(a) = a eq "none" ? "none (no repair)" : a eq "settime_now" ? "settime\\_now (virDomainSetTime(now), KubeVirt)" : \
           a eq "domtime_sync" ? "domtime\\_sync (virsh domtime --sync: hwclock -s)" : \
           a eq "migclock_learned" ? "migclock\\_learned (qemu-ga less its learned asymmetry)" : a
set title "full scale"
plot for [i=1:n] dat index (i-1) using 1:($2/1000) with linespoints pt 7 ps 0.4 lw 2 title label(word(arms, i))
set title "zoom: ±2 ms (error bars: ± half the exchange's RTT)"
set yrange [-2:2]
set key top right
plot for [i=1:n] dat index (i-1) using 1:($2/1000):($3/1000) with yerrorlines pt 7 ps 0.4 lw 2 title label(word(arms, i))
unset multiplot
