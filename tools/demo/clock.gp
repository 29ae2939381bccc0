# tools/demo/clock.gp — guest − host offset after one live migration, per arm
# (gnuplot -e "dat='clock.dat'; png='clock.png'" clock.gp). clock.dat comes
# from `migclock-timeprobe report`: blocks migclock, none, settime_now.
set terminal pngcairo size 1100,800 font "DejaVu Sans,10"
set output png
set multiplot layout 2,1 title "Guest − host wall-clock offset after a live migration (TCG guest, two libvirt daemons), judged through the time-probe port"
set grid
set key bottom right
set xlabel "ms since the guest resumed (its first time-probe answer after the pause)"
set ylabel "guest − host (ms)"
set title "full scale"
plot dat index 0 using 1:($2/1000) with linespoints pt 7 ps 0.4 lw 2 title "migclock", \
     dat index 1 using 1:($2/1000) with linespoints pt 7 ps 0.4 lw 2 title "none (no repair)", \
     dat index 2 using 1:($2/1000) with linespoints pt 7 ps 0.4 lw 2 title "settime\\_now (virDomainSetTime(now), KubeVirt)"
set title "zoom: ±2 ms (error bars: ± half the exchange's RTT)"
set yrange [-2:2]
set key top right
plot dat index 0 using 1:($2/1000):($3/1000) with yerrorlines pt 7 ps 0.4 lw 2 title "migclock", \
     dat index 1 using 1:($2/1000):($3/1000) with yerrorlines pt 7 ps 0.4 lw 2 title "none (no repair)", \
     dat index 2 using 1:($2/1000):($3/1000) with yerrorlines pt 7 ps 0.4 lw 2 title "settime\\_now"
unset multiplot
